import { NetaddrError } from './errors.js';
import { assertAddressValue, formatIp, isIpVersion, parseIp, type IpAddress, type IpVersion } from './ip.js';

/** An inclusive range of addresses (an allocation pool in Neutron terms); first <= last. */
export interface IpRange {
  readonly version: IpVersion;
  readonly first: bigint;
  readonly last: bigint;
}

/**
 * Validating constructor.
 * @throws NetaddrError code `invalid_range` when first > last
 */
export function makeRange(version: IpVersion, first: bigint, last: bigint): IpRange {
  if (!isIpVersion(version)) {
    throw new NetaddrError('invalid_argument', `IP version must be 4 or 6, got ${String(version)}`);
  }
  assertAddressValue(version, first, 'first');
  assertAddressValue(version, last, 'last');
  if (first > last) {
    throw new NetaddrError('invalid_range', `range start ${formatIp(version, first)} is after its end ${formatIp(version, last)}`);
  }
  return { version, first, last };
}

/**
 * Parses a range from its two ends (Neutron's `{start, end}` allocation pool).
 * @throws NetaddrError `invalid_ip`, `version_mismatch` or `invalid_range`
 */
export function parseRange(start: string, end: string): IpRange {
  const a = parseIp(start);
  const b = parseIp(end);
  if (a.version !== b.version) {
    throw new NetaddrError('version_mismatch', `range '${start}'-'${end}' mixes IPv${a.version} and IPv${b.version}`);
  }
  return makeRange(a.version, a.value, b.value);
}

/** `first-last`, the text form netaddr (and therefore Neutron's error messages) uses. */
export function formatRange(range: IpRange): string {
  return `${formatIp(range.version, range.first)}-${formatIp(range.version, range.last)}`;
}

/** Neutron's allocation pool shape. */
export function rangeToPool(range: IpRange): { start: string; end: string } {
  return { start: formatIp(range.version, range.first), end: formatIp(range.version, range.last) };
}

export function rangeSize(range: IpRange): bigint {
  return range.last - range.first + 1n;
}

/** False for an address of the other version. */
export function rangeContains(range: IpRange, ip: IpAddress): boolean {
  return ip.version === range.version && ip.value >= range.first && ip.value <= range.last;
}

export function rangeContainsRange(outer: IpRange, inner: IpRange): boolean {
  return outer.version === inner.version && inner.first >= outer.first && inner.last <= outer.last;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.version === b.version && a.first <= b.last && b.first <= a.last;
}

/** @internal */
export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function assertOneVersion(ranges: readonly IpRange[], version: IpVersion): void {
  for (const r of ranges) {
    if (r.version !== version) {
      throw new NetaddrError('version_mismatch', `cannot mix IPv${version} and IPv${r.version} ranges`);
    }
  }
}

/**
 * Sorted, disjoint, non-adjacent ranges covering exactly the input addresses
 * (overlapping and touching ranges are merged).
 * @throws NetaddrError `version_mismatch` when versions are mixed
 */
export function mergeRanges(ranges: readonly IpRange[]): IpRange[] {
  const head = ranges[0];
  if (head === undefined) return [];
  assertOneVersion(ranges, head.version);
  const sorted = [...ranges].sort((a, b) => compareBigint(a.first, b.first));
  const out: { version: IpVersion; first: bigint; last: bigint }[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev !== undefined && r.first <= prev.last + 1n) {
      if (r.last > prev.last) prev.last = r.last;
    } else {
      out.push({ version: r.version, first: r.first, last: r.last });
    }
  }
  return out;
}

/**
 * Addresses of `from` that are in none of `remove`, as merged ranges (see {@link mergeRanges}).
 * @throws NetaddrError `version_mismatch` when versions are mixed
 */
export function subtractRanges(from: readonly IpRange[], remove: readonly IpRange[]): IpRange[] {
  const base = mergeRanges(from);
  const head = base[0];
  if (head === undefined) return [];
  assertOneVersion(remove, head.version);
  const holes = mergeRanges(remove);
  const out: IpRange[] = [];
  let h = 0;
  for (const r of base) {
    let first = r.first;
    // holes are sorted and disjoint, and so is base, so one forward pass over both suffices
    while (h < holes.length) {
      const hole = holes[h];
      if (hole === undefined || hole.first > r.last) break;
      if (hole.last < first) {
        h++;
        continue;
      }
      if (hole.first > first) out.push({ version: r.version, first, last: hole.first - 1n });
      if (hole.last >= r.last) {
        first = r.last + 1n;
        break;
      }
      first = hole.last + 1n;
      h++;
    }
    if (first <= r.last) out.push({ version: r.version, first, last: r.last });
  }
  return out;
}
