import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr } from './cidr.js';
import { mergeCidrs, rangeToCidrs } from './cidr-merge.js';
import { parseRange } from './range.js';

const merge = (...texts: string[]) => mergeCidrs(texts.map((t) => parseCidr(t))).map(formatCidr);

describe('CIDR merging', () => {
  it('splits a range into the fewest aligned blocks', () => {
    expect(rangeToCidrs(parseRange('10.0.0.0', '10.0.2.255')).map(formatCidr)).toEqual(['10.0.0.0/23', '10.0.2.0/24']);
    expect(rangeToCidrs(parseRange('10.0.0.1', '10.0.0.6')).map(formatCidr)).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    expect(rangeToCidrs(parseRange('0.0.0.0', '255.255.255.255')).map(formatCidr)).toEqual(['0.0.0.0/0']);
    expect(rangeToCidrs(parseRange('2001:db8::', '2001:db8:0:1:ffff:ffff:ffff:ffff')).map(formatCidr)).toEqual(['2001:db8::/63']);
  });

  it('merges adjacent and nested prefixes, as Neutron compacts pool prefixes', () => {
    expect(merge('192.168.81.0/24', '192.168.80.0/24')).toEqual(['192.168.80.0/23']);
    expect(merge('192.168.81.0/24', '192.168.82.0/24')).toEqual(['192.168.81.0/24', '192.168.82.0/24']);
    expect(merge('10.0.0.0/8', '10.1.0.0/16')).toEqual(['10.0.0.0/8']);
    expect(merge('2001:db8::/64', '2001:db8:0:1::/64')).toEqual(['2001:db8::/63']);
    expect(merge()).toEqual([]);
  });
});
