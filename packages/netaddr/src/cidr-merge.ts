import { cidrSize, cidrToRange, makeCidr, type Cidr } from './cidr.js';
import { addressBits } from './ip.js';
import { mergeRanges, type IpRange } from './range.js';

/**
 * The fewest CIDRs that cover exactly a range: the largest aligned block at each step.
 * 10.0.0.0-10.0.2.255 -> 10.0.0.0/23, 10.0.2.0/24.
 */
export function rangeToCidrs(range: IpRange): Cidr[] {
  const bits = addressBits(range.version);
  const out: Cidr[] = [];
  let start = range.first;
  while (start <= range.last) {
    let length = bits;
    while (length > 0) {
      const size = 1n << BigInt(bits - length + 1);
      if (start % size !== 0n || start + size - 1n > range.last) break;
      length--;
    }
    const cidr = makeCidr(range.version, start, length);
    out.push(cidr);
    start += cidrSize(cidr);
  }
  return out;
}

/**
 * Merges overlapping and adjacent CIDRs into the fewest that cover the same addresses
 * (Python netaddr's cidr_merge, which Neutron uses to compact subnet pool prefixes).
 */
export function mergeCidrs(cidrs: readonly Cidr[]): Cidr[] {
  return mergeRanges(cidrs.map(cidrToRange)).flatMap(rangeToCidrs);
}
