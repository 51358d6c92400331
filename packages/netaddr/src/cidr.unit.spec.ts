import { describe, expect, it } from 'vitest';
import {
  NetaddrError,
  cidrContainsCidr,
  cidrContainsIp,
  cidrContaining,
  cidrFirst,
  cidrLast,
  cidrSize,
  cidrToRange,
  cidrsOverlap,
  formatCidr,
  formatIp,
  isValidCidr,
  makeCidr,
  normalizeCidr,
  parseCidr,
  parseIp,
} from './index.js';

const ip = parseIp;

describe('parseCidr', () => {
  it('parses canonical CIDRs', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ version: 4, network: 0x0a000000n, prefixLength: 8 });
    expect(parseCidr('2001:db8::/32')).toEqual({ version: 6, network: 0x20010db8n << 96n, prefixLength: 32 });
  });

  it('clears host bits by default and refuses them when strict', () => {
    expect(formatCidr(parseCidr('10.0.0.5/24'))).toBe('10.0.0.0/24');
    expect(formatCidr(parseCidr('2001:db8::1/64'))).toBe('2001:db8::/64');
    expect(() => parseCidr('10.0.0.5/24', { strict: true })).toThrow("'10.0.0.5/24' is not a valid CIDR: host bits are set; did you mean '10.0.0.0/24'?");
    expect(parseCidr('10.0.0.0/24', { strict: true }).network).toBe(0x0a000000n);
    expect(isValidCidr('10.0.0.5/24')).toBe(true);
    expect(isValidCidr('10.0.0.5/24', { strict: true })).toBe(false);
  });

  it('normalizes the text', () => {
    expect(normalizeCidr('2001:DB8:0:0::/32')).toBe('2001:db8::/32');
    expect(normalizeCidr('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(normalizeCidr('::/0')).toBe('::/0');
  });

  it.each([
    ['10.0.0.0', /missing \/prefix-length/],
    ['10.0.0.0/33', /prefix length must be a decimal number 0-32/],
    ['::/129', /0-128/],
    ['10.0.0.0/024', /prefix length/],
    ['10.0.0.0/255.255.255.0', /prefix length/],
    ['10.0.0.0/ 8', /prefix length/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/8/8', /prefix length/],
    ['10.0.0/8', /'10.0.0\/8' is not a valid CIDR: '10.0.0' is not a valid IP address/],
  ])('rejects %j', (text, message) => {
    expect(() => parseCidr(text)).toThrow(NetaddrError);
    expect(() => parseCidr(text)).toThrow(message);
  });
});

describe('cidr math', () => {
  // RFC 4632 section 3.1: a prefix of length n covers 2^(32-n) addresses.
  it.each([
    ['0.0.0.0/0', 4294967296n, '0.0.0.0', '255.255.255.255'],
    ['10.0.0.0/8', 16777216n, '10.0.0.0', '10.255.255.255'],
    ['172.16.0.0/12', 1048576n, '172.16.0.0', '172.31.255.255'],
    ['192.168.0.0/16', 65536n, '192.168.0.0', '192.168.255.255'],
    ['192.168.81.64/26', 64n, '192.168.81.64', '192.168.81.127'],
    ['10.0.0.0/31', 2n, '10.0.0.0', '10.0.0.1'],
    ['10.0.0.7/32', 1n, '10.0.0.7', '10.0.0.7'],
    ['::/0', 1n << 128n, '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8::/32', 1n << 96n, '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8:0:1::/64', 1n << 64n, '2001:db8:0:1::', '2001:db8:0:1:ffff:ffff:ffff:ffff'],
    ['2001:db8::/127', 2n, '2001:db8::', '2001:db8::1'],
    ['2001:db8::5/128', 1n, '2001:db8::5', '2001:db8::5'],
  ])('%s has %s addresses from %s to %s', (text, size, first, last) => {
    const cidr = parseCidr(text);
    expect(cidrSize(cidr)).toBe(size);
    expect(formatIp(cidr.version, cidrFirst(cidr))).toBe(first);
    expect(formatIp(cidr.version, cidrLast(cidr))).toBe(last);
    expect(cidrToRange(cidr)).toEqual({ version: cidr.version, first: cidrFirst(cidr), last: cidrLast(cidr) });
  });

  it('tests containment of addresses at the edges and across versions', () => {
    const net = parseCidr('192.168.81.64/26');
    expect(cidrContainsIp(net, ip('192.168.81.64'))).toBe(true);
    expect(cidrContainsIp(net, ip('192.168.81.127'))).toBe(true);
    expect(cidrContainsIp(net, ip('192.168.81.63'))).toBe(false);
    expect(cidrContainsIp(net, ip('192.168.81.128'))).toBe(false);
    // 0.0.0.1 and ::1 have the same value but are different addresses
    expect(cidrContainsIp(parseCidr('::/0'), ip('0.0.0.1'))).toBe(false);
    expect(cidrContainsIp(parseCidr('0.0.0.0/0'), ip('::1'))).toBe(false);
  });

  it('tests containment and overlap of prefixes', () => {
    const outer = parseCidr('10.0.0.0/8');
    const inner = parseCidr('10.1.0.0/16');
    const other = parseCidr('11.0.0.0/16');
    expect(cidrContainsCidr(outer, inner)).toBe(true);
    expect(cidrContainsCidr(inner, outer)).toBe(false);
    expect(cidrContainsCidr(outer, outer)).toBe(true);
    expect(cidrContainsCidr(outer, other)).toBe(false);
    expect(cidrsOverlap(inner, outer)).toBe(true);
    expect(cidrsOverlap(outer, other)).toBe(false);
    expect(cidrsOverlap(parseCidr('10.0.0.0/25'), parseCidr('10.0.0.128/25'))).toBe(false);
    expect(cidrsOverlap(parseCidr('::/0'), parseCidr('0.0.0.0/0'))).toBe(false);
  });

  it('builds prefixes from an address or a network', () => {
    expect(formatCidr(cidrContaining(ip('10.0.5.1'), 24))).toBe('10.0.5.0/24');
    expect(formatCidr(cidrContaining(ip('2001:db8:1:2:3::1'), 48))).toBe('2001:db8:1::/48');
    expect(formatCidr(cidrContaining(ip('10.0.5.1'), 0))).toBe('0.0.0.0/0');
    expect(makeCidr(4, 0x0a000000n, 8)).toEqual(parseCidr('10.0.0.0/8'));
    expect(() => makeCidr(4, 0x0a000001n, 8)).toThrow('10.0.0.1/8 has host bits set');
    expect(() => makeCidr(4, 0n, 33)).toThrow(/prefix length 33/);
    expect(() => makeCidr(4, 0n, 1.5)).toThrow(NetaddrError);
    expect(() => cidrContaining(ip('10.0.0.1'), -1)).toThrow(NetaddrError);
  });
});
