import { describe, expect, it } from 'vitest';
import { NetaddrError, formatIp, isValidIp, makeIp, maxAddress, netmaskOf, normalizeIp, parseIp } from './index.js';

describe('parseIp / formatIp', () => {
  it.each([
    ['0.0.0.0', 0n],
    ['10.0.0.1', 0x0a000001n],
    ['192.168.81.64', 0xc0a85140n],
    ['255.255.255.255', 0xffffffffn],
  ])('IPv4 %s <-> %s', (text, value) => {
    expect(parseIp(text)).toEqual({ version: 4, value });
    expect(formatIp(4, value)).toBe(text);
  });

  it.each([
    ['::', 0n],
    ['::1', 1n],
    ['1::', 1n << 112n],
    ['2001:db8::1', 0x20010db8000000000000000000000001n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n],
  ])('IPv6 %s <-> %s', (text, value) => {
    expect(parseIp(text)).toEqual({ version: 6, value });
    expect(formatIp(6, value)).toBe(text);
  });

  // RFC 5952 section 4 (and its section 2 examples of equivalent spellings).
  it.each([
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3: leftmost of equal zero runs
    ['2001:0db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.1: no leading zeros
    ['2001:db8::0:1', '2001:db8::1'],
    ['2001:db8:0:0:0::1', '2001:db8::1'],
    ['2001:DB8::1', '2001:db8::1'], // 4.3: lowercase
    ['2001:db8::aaaa:0:0:1', '2001:db8::aaaa:0:0:1'],
    ['2001:db8:0:0:aaaa::1', '2001:db8::aaaa:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2: a single 0 is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3: the longest run wins
    ['2001:db8:0000:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['0:0:0:0:0:0:0:1', '::1'],
  ])('RFC 5952: %s -> %s', (input, canonical) => {
    expect(normalizeIp(input)).toBe(canonical);
  });

  // RFC 4291 section 2.2 examples.
  it.each([
    ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a'],
    ['FF01:0:0:0:0:0:0:101', 'ff01::101'],
    ['0:0:0:0:0:0:13.1.68.3', '::d01:4403'],
    ['::13.1.68.3', '::d01:4403'], // not the IPv4-mapped address, whatever ipaddr.js thinks
    ['0:0:0:0:0:FFFF:129.144.52.38', '::ffff:129.144.52.38'],
    ['::FFFF:129.144.52.38', '::ffff:129.144.52.38'],
    ['::ffff:8190:3426', '::ffff:129.144.52.38'], // RFC 5952 section 5: mapped -> mixed form
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('RFC 4291: %s -> %s', (input, canonical) => {
    expect(normalizeIp(input)).toBe(canonical);
  });

  it('keeps IPv4-mapped addresses as IPv6', () => {
    expect(parseIp('::ffff:10.0.0.1')).toEqual({ version: 6, value: 0xffff0a000001n });
  });

  it.each([
    ['', /empty/],
    [' 10.0.0.1', /whitespace/],
    ['10.0.0.1\n', /whitespace/],
    ['10.0.0.256', /four decimal octets/],
    ['10.0.0', /four decimal octets/],
    ['10.1', /four decimal octets/],
    ['010.0.0.1', /leading zeros/],
    ['0x0a.0.0.1', /four decimal octets/],
    ['4294967295', /four decimal octets/],
    ['10.0.0.1/24', /not a CIDR/],
    ['fe80::1%eth0', /zone identifiers/],
    ['1::2::3', /not a valid IPv6 address/],
    ['1:2:3:4:5:6:7:8:9', /not a valid IPv6 address/],
    ['12345::', /not a valid IPv6 address/],
    ['g::1', /only hex digits/],
    [':1::', /not a valid IPv6 address/],
    ['::ffff:01.2.3.4', /embedded IPv4 part '01.2.3.4'/],
    ['::ffff:1.2.3', /embedded IPv4 part/],
    ['1.2.3.4::', /not a valid IPv6 address/],
  ])('rejects %j', (text, message) => {
    expect(() => parseIp(text)).toThrow(NetaddrError);
    expect(() => parseIp(text)).toThrow(message);
    expect(isValidIp(text)).toBe(false);
  });

  it('puts the input and the code on the error', () => {
    try {
      parseIp('10.0.0.300');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(NetaddrError);
      expect((error as NetaddrError).code).toBe('invalid_ip');
      expect((error as NetaddrError).message).toBe(
        "'10.0.0.300' is not a valid IP address: expected four decimal octets 0-255 (a.b.c.d) without leading zeros",
      );
    }
  });

  it('refuses values outside the version space', () => {
    expect(() => formatIp(4, 1n << 32n)).toThrow(/not an IPv4 address value/);
    expect(() => formatIp(6, -1n)).toThrow(NetaddrError);
    expect(() => makeIp(4, maxAddress(4) + 1n)).toThrow(NetaddrError);
    expect(makeIp(6, maxAddress(6))).toEqual({ version: 6, value: (1n << 128n) - 1n });
  });

  it('normalizes idempotently across a sample of the IPv6 space', () => {
    // Values with zero groups at every position exercise all compression cases.
    for (let mask = 0; mask < 256; mask++) {
      let value = 0n;
      for (let group = 0; group < 8; group++) value = (value << 16n) | (mask & (1 << group) ? 0xabcn : 0n);
      const text = formatIp(6, value);
      expect(parseIp(text).value).toBe(value);
      expect(normalizeIp(text)).toBe(text);
      expect(text).not.toMatch(/::.*::/);
    }
  });
});

describe('netmaskOf', () => {
  it('writes netmasks as network_data.json does', () => {
    expect([netmaskOf(4, 26), netmaskOf(4, 0), netmaskOf(4, 32), netmaskOf(6, 64), netmaskOf(6, 128)]).toEqual([
      '255.255.255.192',
      '0.0.0.0',
      '255.255.255.255',
      'ffff:ffff:ffff:ffff::',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    ]);
    expect(() => netmaskOf(4, 33)).toThrow(NetaddrError);
  });
});
