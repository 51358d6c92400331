import { describe, expect, it } from 'vitest';
import { NetaddrError, allocatePrefix, checkSpecificPrefix, formatCidr, makeCidr, parseCidr, parseIp, type Cidr } from './index.js';

const c = (text: string): Cidr => parseCidr(text, { strict: true });
const cs = (...texts: string[]): Cidr[] => texts.map(c);
const text = (cidr: Cidr | null): string | null => (cidr === null ? null : formatCidr(cidr));

describe('allocatePrefix', () => {
  it('hands out the lowest aligned free prefix', () => {
    const poolPrefixes = cs('10.0.0.0/16');
    expect(text(allocatePrefix({ poolPrefixes, allocated: [], prefixLength: 24 }))).toBe('10.0.0.0/24');
    expect(text(allocatePrefix({ poolPrefixes, allocated: cs('10.0.0.0/26'), prefixLength: 26 }))).toBe('10.0.0.64/26');
    // a /24 must be aligned, so a /26 in 10.0.0.0/24 pushes it to the next /24
    expect(text(allocatePrefix({ poolPrefixes, allocated: cs('10.0.0.64/26'), prefixLength: 24 }))).toBe('10.0.1.0/24');
    expect(text(allocatePrefix({ poolPrefixes, allocated: cs('10.0.0.64/26'), prefixLength: 26 }))).toBe('10.0.0.0/26');
  });

  it('fills holes between allocations of mixed sizes, in any input order', () => {
    const poolPrefixes = cs('10.0.0.0/16');
    const allocated = cs('10.0.1.0/24', '10.0.0.0/25', '10.0.2.0/23', '10.0.0.192/26');
    expect(text(allocatePrefix({ poolPrefixes, allocated, prefixLength: 26 }))).toBe('10.0.0.128/26');
    expect(text(allocatePrefix({ poolPrefixes, allocated, prefixLength: 25 }))).toBe('10.0.4.0/25');
    expect(text(allocatePrefix({ poolPrefixes, allocated, prefixLength: 22 }))).toBe('10.0.4.0/22');
  });

  it('copes with nested and duplicated allocations', () => {
    const allocated = cs('10.0.0.0/24', '10.0.0.128/25', '10.0.0.0/24', '10.0.1.0/25');
    expect(text(allocatePrefix({ poolPrefixes: cs('10.0.0.0/22'), allocated, prefixLength: 25 }))).toBe('10.0.1.128/25');
  });

  it('moves on to the next pool prefix and returns null when exhausted', () => {
    const poolPrefixes = cs('192.168.0.0/24', '10.0.0.0/24');
    let allocated: Cidr[] = [];
    const got: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const next = allocatePrefix({ poolPrefixes, allocated, prefixLength: 25 });
      got.push(text(next));
      if (next) allocated = [...allocated, next];
    }
    expect(got).toEqual(['10.0.0.0/25', '10.0.0.128/25', '192.168.0.0/25', '192.168.0.128/25', null]);
  });

  it('treats adjacent pool prefixes as one space, and never exceeds the pool', () => {
    const poolPrefixes = cs('10.0.0.0/25', '10.0.0.128/25');
    expect(text(allocatePrefix({ poolPrefixes, allocated: [], prefixLength: 24 }))).toBe('10.0.0.0/24');
    expect(allocatePrefix({ poolPrefixes, allocated: [], prefixLength: 23 })).toBeNull();
    // an unaligned pool start: 10.0.0.128/25 + 10.0.1.0/25 cannot hold an aligned /24
    expect(allocatePrefix({ poolPrefixes: cs('10.0.0.128/25', '10.0.1.0/25'), allocated: [], prefixLength: 24 })).toBeNull();
  });

  it('ignores allocations outside the pool', () => {
    expect(text(allocatePrefix({ poolPrefixes: cs('10.0.0.0/24'), allocated: cs('9.0.0.0/8', '11.0.0.0/8'), prefixLength: 24 }))).toBe('10.0.0.0/24');
  });

  it('handles the whole space and single addresses', () => {
    expect(text(allocatePrefix({ poolPrefixes: cs('0.0.0.0/0'), allocated: [], prefixLength: 0 }))).toBe('0.0.0.0/0');
    expect(allocatePrefix({ poolPrefixes: cs('::/0'), allocated: cs('::/1'), prefixLength: 0 })).toBeNull();
    expect(text(allocatePrefix({ poolPrefixes: cs('::/0'), allocated: cs('::/1'), prefixLength: 1 }))).toBe('8000::/1');
    expect(text(allocatePrefix({ poolPrefixes: cs('255.255.255.254/31'), allocated: cs('255.255.255.254/32'), prefixLength: 32 }))).toBe('255.255.255.255/32');
    expect(allocatePrefix({ poolPrefixes: cs('255.255.255.255/32'), allocated: cs('255.255.255.255/32'), prefixLength: 32 })).toBeNull();
  });

  it('returns the prefix holding the required addresses, or null', () => {
    const poolPrefixes = cs('10.0.0.0/16');
    const gw = parseIp('10.0.5.1');
    expect(text(allocatePrefix({ poolPrefixes, allocated: [], prefixLength: 24, mustContain: [gw] }))).toBe('10.0.5.0/24');
    expect(allocatePrefix({ poolPrefixes, allocated: cs('10.0.5.128/25'), prefixLength: 24, mustContain: [gw] })).toBeNull();
    expect(allocatePrefix({ poolPrefixes, allocated: [], prefixLength: 24, mustContain: [parseIp('10.1.0.1')] })).toBeNull();
    expect(allocatePrefix({ poolPrefixes, allocated: [], prefixLength: 24, mustContain: [gw, parseIp('10.0.6.1')] })).toBeNull();
    expect(text(allocatePrefix({ poolPrefixes, allocated: [], prefixLength: 23, mustContain: [gw, parseIp('10.0.4.9')] }))).toBe('10.0.4.0/23');
  });

  it('refuses bad input', () => {
    expect(allocatePrefix({ poolPrefixes: [], allocated: [], prefixLength: 24 })).toBeNull();
    expect(() => allocatePrefix({ poolPrefixes: cs('10.0.0.0/8'), allocated: [], prefixLength: 33 })).toThrow(NetaddrError);
    expect(() => allocatePrefix({ poolPrefixes: cs('10.0.0.0/8', '2001:db8::/32'), allocated: [], prefixLength: 24 })).toThrow(
      /IPv6 prefix 2001:db8::\/32 in an IPv4 subnet pool/,
    );
    expect(() => allocatePrefix({ poolPrefixes: cs('10.0.0.0/8'), allocated: [], prefixLength: 24, mustContain: [parseIp('::1')] })).toThrow(
      /IPv6 address ::1 requested from an IPv4 subnet pool/,
    );
  });

  it('hands out /64s from a /32 with thousands allocated, without enumerating', () => {
    const pool = c('2001:db8::/32');
    const nth64 = (n: number): Cidr => makeCidr(6, pool.network + (BigInt(n) << 64n), 64);
    // 10,000 allocated /64s in a scrambled order, with a hole at 7,777
    const allocated: Cidr[] = [];
    for (let i = 0; i < 10_001; i++) if (i !== 7_777) allocated.push(nth64((i * 7_919) % 10_001));
    const hole = nth64((7_777 * 7_919) % 10_001);
    expect(allocatePrefix({ poolPrefixes: [pool], allocated, prefixLength: 64 })).toEqual(hole);
    expect(allocatePrefix({ poolPrefixes: [pool], allocated: [...allocated, hole], prefixLength: 64 })).toEqual(nth64(10_001));
    // and sequentially, each answer is the next /64
    let taken: Cidr[] = [];
    for (let i = 0; i < 2_000; i++) {
      const next = allocatePrefix({ poolPrefixes: [pool], allocated: taken, prefixLength: 64 });
      expect(next).toEqual(nth64(i));
      if (next) taken = [...taken, next];
    }
    // a whole /32 of /64s is 2^32 prefixes; the last one is still found instantly
    expect(text(allocatePrefix({ poolPrefixes: [pool], allocated: cs('2001:db8::/33', '2001:db8:8000::/34', '2001:db8:c000::/35'), prefixLength: 35 }))).toBe(
      '2001:db8:e000::/35',
    );
  });
});

describe('checkSpecificPrefix', () => {
  const poolPrefixes = cs('10.0.0.0/24', '10.0.1.0/24');
  const allocated = cs('10.0.0.64/26');

  it('accepts a free prefix inside the pool, even across adjacent pool prefixes', () => {
    expect(checkSpecificPrefix({ poolPrefixes, allocated, cidr: c('10.0.0.128/25') })).toEqual({ ok: true });
    expect(checkSpecificPrefix({ poolPrefixes, allocated: [], cidr: c('10.0.0.0/23') })).toEqual({ ok: true });
  });

  it('explains refusals', () => {
    expect(checkSpecificPrefix({ poolPrefixes, allocated, cidr: c('10.0.0.0/25') })).toEqual({
      ok: false,
      reason: 'overlaps_allocated',
      conflict: c('10.0.0.64/26'),
      message: '10.0.0.0/25 overlaps the allocated prefix 10.0.0.64/26',
    });
    expect(checkSpecificPrefix({ poolPrefixes, allocated, cidr: c('10.0.2.0/24') })).toMatchObject({
      ok: false,
      reason: 'outside_pool',
      message: '10.0.2.0/24 is not inside the subnet pool prefixes 10.0.0.0/24, 10.0.1.0/24',
    });
    expect(checkSpecificPrefix({ poolPrefixes, allocated, cidr: c('10.0.0.0/22') })).toMatchObject({ reason: 'outside_pool' });
    expect(checkSpecificPrefix({ poolPrefixes, allocated, cidr: c('2001:db8::/64') })).toMatchObject({ reason: 'version_mismatch' });
    expect(checkSpecificPrefix({ poolPrefixes: [], allocated: [], cidr: c('10.0.0.0/24') })).toMatchObject({ reason: 'outside_pool' });
  });
});
