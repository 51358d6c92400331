import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  boundedJsonObject,
  boundedList,
  jsonBoundsProblem,
  neutronId,
  neutronInteger,
  neutronNullableInteger,
  neutronProjectId,
  neutronString,
  parseBody,
} from './body';

/** The rules every service's body schemas are made of, with the probes that once poisoned the event log. */
const ok = <S extends z.ZodType>(schema: S, value: unknown) => schema.safeParse(value).success;

describe('text attributes', () => {
  it.each([
    ['a name', 'web-1', true],
    ['255 characters', 'x'.repeat(255), true],
    ['unicode', 'réseau 网络 \uD83D\uDE00', true],
    ['256 characters', 'x'.repeat(256), false],
    ['a NUL (the router, network, BGP peer probes)', 'r\u0000', false],
    ['a lone surrogate', 'n\uD800', false],
    ['not a string', 5, false],
  ])('%s', (_what, value, accepted) => {
    expect(ok(neutronString(), value)).toBe(accepted);
  });

  it('takes a longer bound where the attribute has one', () => {
    expect(ok(neutronString(1024), 'x'.repeat(1024))).toBe(true);
    expect(ok(neutronString(1024), 'x'.repeat(1025))).toBe(false);
  });
});

describe('ids in bodies', () => {
  it.each([
    ['a UUID', '7d8a0ab1-5f3c-4bb8-9a5b-3c3b2a1d0e9f', true],
    ['letters, digits, - and _', 'net_A-1', true],
    ['empty', '', false],
    ['a dot (splits a subject)', 'a.b', false],
    ['a wildcard', '>', false],
    ['a NUL', 'a\u0000', false],
    ['a space', 'a b', false],
    ['256 characters', 'a'.repeat(256), false],
    ['a number', 7, false],
  ])('%s', (_what, value, accepted) => {
    expect(ok(neutronId(), value)).toBe(accepted);
    expect(ok(neutronProjectId(), value)).toBe(accepted);
  });
});

describe('integers', () => {
  it.each([
    ['an Int column at its top', 2147483647, 2147483647],
    ['digits as a string', ' 1450 ', 1450],
    ['the bottom of an Int column', -2147483648, -2147483648],
  ])('accepts %s', (_what, value, expected) => {
    expect(neutronInteger('mtu').parse(value)).toBe(expected);
  });

  it.each([
    ['2^31 (the subnet pool default_quota probe)', 2147483648, /too large - must be no larger than '2147483647'/],
    ['2^31 as a string', '2147483648', /too large/],
    ['20 digits', '12345678901234567890', /too large/],
    ['1e300', 1e300, /too large/],
    ['below an Int column', -2147483649, /too small - must be at least '-2147483648'/],
    ['a fraction', 1.5, /is not an integer/],
    ['text', '12x', /is not an integer/],
  ])('refuses %s', (_what, value, message) => {
    expect(() => neutronInteger('default_quota').parse(value)).toThrow(message);
  });

  it('takes the range an attribute has instead', () => {
    const asn = neutronInteger('local_as', { min: 1, max: 4294967295 });
    expect(asn.parse('4294967295')).toBe(4294967295);
    expect(() => asn.parse(0)).toThrow(/too small/);
    expect(() => asn.parse(4294967296)).toThrow(/too large/);
    expect(neutronNullableInteger('default_quota').parse(null)).toBeNull();
    expect(() => neutronNullableInteger('default_quota').parse(2 ** 31)).toThrow(/too large/);
  });
});

describe('free-form maps', () => {
  const profile = boundedJsonObject({ maxBytes: 4095, maxDepth: 4 });
  it.each([
    ['an ordinary binding:profile', { netns: 'qrouter-1', ifname: 'qr-1', pci: { slot: 1 } }, true],
    ['empty', {}, true],
    ['a NUL in a value (the binding:profile probe)', { a: 'x\u0000' }, false],
    ['a lone surrogate in a value (the vendor_data probe)', { a: '\uDC00' }, false],
    ['a NUL in a key', { 'k\u0000': 1 }, false],
    ['a lone surrogate deep inside', { a: [{ b: ['\uD800'] }] }, false],
    ['too deep', { a: { b: { c: { d: { e: 1 } } } } }, false],
    ['as deep as allowed', { a: { b: { c: { d: 1 } } } }, true],
    ['too big', { a: 'x'.repeat(4096) }, false],
    ['an array, not a map', [1], false],
  ])('%s', (_what, value, accepted) => {
    expect(ok(profile, value)).toBe(accepted);
  });

  it('says why a map is refused', () => {
    expect(jsonBoundsProblem({ a: 'x'.repeat(10) }, { maxBytes: 5, maxDepth: 3 })).toMatch(/at most 5 bytes as JSON, not 18/);
    expect(jsonBoundsProblem({ a: { b: 'x\u0000' } }, { maxBytes: 100, maxDepth: 3 })).toBe('at a.b: it contains a NUL character');
    // deeper than any stack: refused without walking it all
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonBoundsProblem({ deep }, { maxBytes: 100, maxDepth: 3 })).toMatch(/nested at most 3/);
  });
});

describe('lists and bodies', () => {
  it('bounds lists (250 fixed_ips on one port once)', () => {
    const fixedIps = boundedList(z.object({}), 5, 'fixed_ips');
    expect(
      ok(
        fixedIps,
        Array.from({ length: 5 }, () => ({})),
      ),
    ).toBe(true);
    expect(fixedIps.safeParse(Array.from({ length: 250 }, () => ({}))).error?.issues[0]?.message).toBe('at most 5 fixed_ips are allowed');
  });

  it("names the attribute and the reason in Neutron's words", () => {
    const schema = z.strictObject({ name: neutronString().optional(), network_id: neutronId().optional() });
    expect(() => parseBody({ network: { name: 'x\u0000' } }, 'network', schema)).toThrow('Invalid input for name. Reason: it contains a NUL character.');
    expect(() => parseBody({ port: { network_id: 'a.b' } }, 'port', schema)).toThrow(/Invalid input for network_id. Reason: must be an id/);
    expect(() => parseBody({ port: { colour: 1 } }, 'port', schema)).toThrow("Unrecognized attribute(s) 'colour'");
  });
});
