import { NetaddrError } from './errors.js';
import { addressBits, assertAddressValue, formatIp, isIpVersion, parseIp, type IpAddress, type IpVersion } from './ip.js';
import type { IpRange } from './range.js';

/** A network prefix. `network` never has host bits set (every constructor here enforces it). */
export interface Cidr {
  readonly version: IpVersion;
  readonly network: bigint;
  readonly prefixLength: number;
}

export interface ParseCidrOptions {
  /**
   * `false` (default): host bits are cleared, `10.0.0.5/24` -> `10.0.0.0/24`, as Neutron's
   * create_subnet does ("turn the CIDR into a proper subnet").
   * `true`: host bits set is an error, for places where a typo must not silently name another
   * network (the error message suggests the normalised form).
   */
  readonly strict?: boolean;
}

// Precomputed because prefix allocation evaluates cidrLast for every allocated prefix on every
// call, and building these bigints each time dominated its cost.
const HOST_MASKS: Record<IpVersion, readonly bigint[]> = {
  4: Array.from({ length: 33 }, (_, p) => (1n << BigInt(32 - p)) - 1n),
  6: Array.from({ length: 129 }, (_, p) => (1n << BigInt(128 - p)) - 1n),
};

/** @internal All-ones in the host bits of a prefix of this length (block size - 1). */
export function hostMask(version: IpVersion, prefixLength: number): bigint {
  const mask = HOST_MASKS[version][prefixLength];
  if (mask === undefined) throw new NetaddrError('invalid_argument', `prefix length ${prefixLength} is not valid for IPv${version}`);
  return mask;
}

/** @internal Number of addresses in a prefix of this length. */
export function blockSize(version: IpVersion, prefixLength: number): bigint {
  return hostMask(version, prefixLength) + 1n;
}

function assertPrefixLength(version: IpVersion, prefixLength: number): void {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > addressBits(version)) {
    throw new NetaddrError('invalid_argument', `prefix length ${String(prefixLength)} is not valid for IPv${version} (0..${addressBits(version)})`);
  }
}

/**
 * Validating constructor.
 * @throws NetaddrError when the prefix length is out of range or `network` has host bits set.
 */
export function makeCidr(version: IpVersion, network: bigint, prefixLength: number): Cidr {
  if (!isIpVersion(version)) {
    throw new NetaddrError('invalid_argument', `IP version must be 4 or 6, got ${String(version)}`);
  }
  assertAddressValue(version, network, 'network');
  assertPrefixLength(version, prefixLength);
  if (network % blockSize(version, prefixLength) !== 0n) {
    throw new NetaddrError('invalid_cidr', `${formatIp(version, network)}/${prefixLength} has host bits set`);
  }
  return { version, network, prefixLength };
}

/** The prefix of the given length that contains `ip` (e.g. a gateway plus a default prefix length). */
export function cidrContaining(ip: IpAddress, prefixLength: number): Cidr {
  assertAddressValue(ip.version, ip.value);
  assertPrefixLength(ip.version, prefixLength);
  const size = blockSize(ip.version, prefixLength);
  return { version: ip.version, network: ip.value - (ip.value % size), prefixLength };
}

/**
 * Parses `address/prefixLength`. The prefix length is decimal without leading zeros; netmask
 * forms (`/255.255.255.0`) and bare addresses are rejected. See {@link ParseCidrOptions} for
 * host bits.
 *
 * @throws NetaddrError code `invalid_cidr`
 */
export function parseCidr(text: string, options: ParseCidrOptions = {}): Cidr {
  const fail = (reason: string): NetaddrError => new NetaddrError('invalid_cidr', `'${String(text)}' is not a valid CIDR: ${reason}`);
  if (typeof text !== 'string') throw fail('not a string');
  const slash = text.indexOf('/');
  if (slash < 0) throw fail('missing /prefix-length');
  const addressText = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  let ip: IpAddress;
  try {
    ip = parseIp(addressText);
  } catch (error) {
    throw fail(error instanceof Error ? error.message : String(error));
  }
  const bits = addressBits(ip.version);
  if (!/^(0|[1-9]\d{0,2})$/.test(lengthText) || Number(lengthText) > bits) {
    throw fail(`prefix length must be a decimal number 0-${bits}`);
  }
  const cidr = cidrContaining(ip, Number(lengthText));
  if (options.strict === true && cidr.network !== ip.value) {
    throw fail(`host bits are set; did you mean '${formatCidr(cidr)}'?`);
  }
  return cidr;
}

export function isValidCidr(text: string, options: ParseCidrOptions = {}): boolean {
  try {
    parseCidr(text, options);
    return true;
  } catch {
    return false;
  }
}

/** Canonical text, e.g. `2001:db8::/32`. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.version, cidr.network)}/${cidr.prefixLength}`;
}

export function normalizeCidr(text: string, options: ParseCidrOptions = {}): string {
  return formatCidr(parseCidr(text, options));
}

/** Number of addresses, network and broadcast included (a bigint: ::/0 has 2^128). */
export function cidrSize(cidr: Cidr): bigint {
  return blockSize(cidr.version, cidr.prefixLength);
}

/** The network address (same version as the cidr). */
export function cidrFirst(cidr: Cidr): bigint {
  return cidr.network;
}

/** The last address: the broadcast address for IPv4 prefixes up to /30. */
export function cidrLast(cidr: Cidr): bigint {
  return cidr.network + hostMask(cidr.version, cidr.prefixLength);
}

export function cidrToRange(cidr: Cidr): IpRange {
  return { version: cidr.version, first: cidr.network, last: cidrLast(cidr) };
}

/** False for an address of the other version (an IPv4 value is never inside an IPv6 prefix). */
export function cidrContainsIp(cidr: Cidr, ip: IpAddress): boolean {
  return ip.version === cidr.version && ip.value >= cidr.network && ip.value <= cidrLast(cidr);
}

export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.version === inner.version && inner.prefixLength >= outer.prefixLength && inner.network >= outer.network && inner.network <= cidrLast(outer);
}

/** Aligned prefixes overlap exactly when one contains the other. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}
