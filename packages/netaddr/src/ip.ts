import ipaddr from 'ipaddr.js';
import { NetaddrError } from './errors.js';

export type IpVersion = 4 | 6;

/** One address. `value` is the address as an unsigned integer of 32 or 128 bits. */
export interface IpAddress {
  readonly version: IpVersion;
  readonly value: bigint;
}

const MAX_V4 = (1n << 32n) - 1n;
const MAX_V6 = (1n << 128n) - 1n;

export function addressBits(version: IpVersion): 32 | 128 {
  return version === 4 ? 32 : 128;
}

/** Highest address value of the version (255.255.255.255 or ffff:...:ffff). */
export function maxAddress(version: IpVersion): bigint {
  return version === 4 ? MAX_V4 : MAX_V6;
}

export function isIpVersion(value: unknown): value is IpVersion {
  return value === 4 || value === 6;
}

/** @internal Throws unless `value` is an address value of `version`. */
export function assertAddressValue(version: IpVersion, value: bigint, what = 'address'): void {
  if (typeof value !== 'bigint' || value < 0n || value > maxAddress(version)) {
    throw new NetaddrError('invalid_argument', `${what} ${String(value)} is not an IPv${version} address value (0..2^${addressBits(version)}-1)`);
  }
}

/** Validating constructor for an {@link IpAddress}. */
export function makeIp(version: IpVersion, value: bigint): IpAddress {
  if (!isIpVersion(version)) {
    throw new NetaddrError('invalid_argument', `IP version must be 4 or 6, got ${String(version)}`);
  }
  assertAddressValue(version, value);
  return { version, value };
}

// Strict dotted quad only: ipaddr.js (like inet_aton) also accepts "10.1", "0x0a.0.0.1" and
// "012.0.0.1" (octal!). Neutron rejects shorthand and leading zeros because their meaning is
// ambiguous, so we do too.
const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;

function parseDottedQuad(text: string): number | null {
  if (!DOTTED_QUAD.test(text) || !ipaddr.IPv4.isValidFourPartDecimal(text)) return null;
  const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(text).octets;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function invalidIp(text: string, reason: string): NetaddrError {
  return new NetaddrError('invalid_ip', `'${text}' is not a valid IP address: ${reason}`);
}

function parseIpv6(text: string): bigint {
  if (!IPV6_CHARS.test(text)) {
    throw invalidIp(text, 'IPv6 addresses contain only hex digits, ":" and an optional trailing dotted quad');
  }
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // Rewrite the embedded IPv4 tail as two hex groups ourselves: ipaddr.js reads "::a.b.c.d"
    // as the IPv4-mapped ::ffff:a.b.c.d, while RFC 4291 (and inet_pton, hence Neutron) read it
    // as ::a.b:c.d, and it accepts hex/octal octets in the tail.
    const v4 = parseDottedQuad(tail);
    if (v4 === null) {
      throw invalidIp(text, `embedded IPv4 part '${tail}' must be four decimal octets 0-255 without leading zeros`);
    }
    hex = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  if (!ipaddr.IPv6.isValid(hex)) {
    throw invalidIp(text, 'not a valid IPv6 address (RFC 4291 section 2.2)');
  }
  let value = 0n;
  for (const part of ipaddr.IPv6.parse(hex).parts) value = (value << 16n) | BigInt(part);
  return value;
}

/**
 * Parses an IPv4 or IPv6 address.
 *
 * Accepted: IPv4 as a strict dotted quad without leading zeros; IPv6 in any RFC 4291 text form
 * (case-insensitive, leading zeros in groups, `::`, trailing dotted quad).
 * Rejected: surrounding whitespace, zone ids (`fe80::1%eth0`), prefixes (`/24`), IPv4 shorthand
 * and leading zeros.
 * IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are accepted and stay version 6: they are never
 * silently turned into IPv4, so the version of a value is always the version of its text.
 *
 * @throws NetaddrError code `invalid_ip`
 */
export function parseIp(text: string): IpAddress {
  if (typeof text !== 'string' || text.length === 0) throw invalidIp(String(text), 'empty');
  if (/\s/.test(text)) throw invalidIp(text, 'contains whitespace');
  if (text.includes('%')) throw invalidIp(text, 'zone identifiers (%...) are not allowed');
  if (text.includes('/')) throw invalidIp(text, 'expected a single address, not a CIDR');
  if (text.includes(':')) return { version: 6, value: parseIpv6(text) };
  const v4 = parseDottedQuad(text);
  if (v4 === null) throw invalidIp(text, 'expected four decimal octets 0-255 (a.b.c.d) without leading zeros');
  return { version: 4, value: BigInt(v4) };
}

export function isValidIp(text: string): boolean {
  try {
    parseIp(text);
    return true;
  } catch {
    return false;
  }
}

function formatDottedQuad(v4: number): string {
  return new ipaddr.IPv4([v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff]).toString();
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/**
 * Canonical text: IPv4 dotted quad; IPv6 per RFC 5952 (lowercase, no leading zeros, the longest
 * run of two or more zero groups - the leftmost on ties - compressed to `::`). IPv4-mapped
 * addresses use the mixed form `::ffff:a.b.c.d` recommended by RFC 5952 section 5 (as Python
 * netaddr does, so texts match what Neutron returns).
 *
 * @throws NetaddrError code `invalid_argument` when value is out of range for the version
 */
export function formatIp(version: IpVersion, value: bigint): string {
  makeIp(version, value);
  if (version === 4) return formatDottedQuad(Number(value));
  if (value >> 32n === 0xffffn) return `::ffff:${formatDottedQuad(Number(value - V4_MAPPED_PREFIX))}`;
  const parts: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) parts.push(Number((value >> shift) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

/** Canonical text of an address text; see {@link parseIp} and {@link formatIp}. */
export function normalizeIp(text: string): string {
  const ip = parseIp(text);
  return formatIp(ip.version, ip.value);
}

/** The netmask of a prefix length, as Nova's network_data.json writes it: `255.255.255.192`, `ffff:ffff:ffff:ffff::`. */
export function netmaskOf(version: IpVersion, prefixLength: number): string {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > addressBits(version)) {
    throw new NetaddrError('invalid_cidr', `prefix length ${prefixLength} is out of range for IPv${version}`);
  }
  return (version === 4 ? ipaddr.IPv4 : ipaddr.IPv6).subnetMaskFromPrefixLength(prefixLength).toString();
}
