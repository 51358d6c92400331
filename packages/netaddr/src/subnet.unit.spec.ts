import { describe, expect, it } from 'vitest';
import {
  defaultAllocationPools,
  defaultGateway,
  formatIp,
  formatRange,
  parseCidr,
  parseIp,
  parseRange,
  usableRange,
  validateAllocationPools,
  validateFixedIp,
  validateGateway,
  validateSubnet,
  type IpRange,
} from './index.js';

const cidr = (text: string) => parseCidr(text);
const ip = parseIp;
const pools = (cidrText: string, gateway: string | null): string[] =>
  defaultAllocationPools(cidr(cidrText), gateway === null ? null : ip(gateway)).map(formatRange);
const codes = (problems: { code: string }[]): string[] => problems.map((p) => p.code);

describe('defaultGateway', () => {
  it.each([
    ['192.168.81.0/26', '192.168.81.1'],
    ['10.0.0.0/31', '10.0.0.1'],
    ['10.0.0.0/30', '10.0.0.1'],
    ['2001:db8:0:1::/64', '2001:db8:0:1::1'],
    ['2001:db8::/127', '2001:db8::1'],
  ])('%s -> %s', (c, gw) => {
    const gateway = defaultGateway(cidr(c));
    expect(gateway && formatIp(gateway.version, gateway.value)).toBe(gw);
  });

  it('has none for single-address subnets', () => {
    expect(defaultGateway(cidr('10.0.0.1/32'))).toBeNull();
    expect(defaultGateway(cidr('2001:db8::1/128'))).toBeNull();
  });
});

describe('defaultAllocationPools', () => {
  it.each([
    ['192.168.81.0/26', '192.168.81.1', ['192.168.81.2-192.168.81.62']],
    ['192.168.81.64/26', '192.168.81.65', ['192.168.81.66-192.168.81.126']],
    ['10.0.0.0/24', '10.0.0.100', ['10.0.0.1-10.0.0.99', '10.0.0.101-10.0.0.254']],
    ['10.0.0.0/24', '10.0.0.254', ['10.0.0.1-10.0.0.253']],
    ['10.0.0.0/24', null, ['10.0.0.1-10.0.0.254']],
    ['10.0.0.0/24', '10.9.9.9', ['10.0.0.1-10.0.0.254']], // off-subnet gateway takes nothing
    ['10.0.0.0/30', '10.0.0.1', ['10.0.0.2-10.0.0.2']],
    ['10.0.0.0/31', '10.0.0.1', ['10.0.0.0-10.0.0.0']], // RFC 3021: both addresses are hosts
    ['10.0.0.0/31', null, ['10.0.0.0-10.0.0.1']],
    ['10.0.0.7/32', null, ['10.0.0.7-10.0.0.7']],
    ['10.0.0.7/32', '10.0.0.7', []],
    ['0.0.0.0/0', '0.0.0.1', ['0.0.0.2-255.255.255.254']],
    // IPv6: only the subnet-router anycast address is excluded, the pool runs to the last address
    ['2001:db8:0:1::/64', '2001:db8:0:1::1', ['2001:db8:0:1::2-2001:db8:0:1:ffff:ffff:ffff:ffff']],
    ['2001:db8::/64', null, ['2001:db8::1-2001:db8::ffff:ffff:ffff:ffff']],
    ['2001:db8::/127', '2001:db8::1', []],
    ['2001:db8::/127', null, ['2001:db8::1-2001:db8::1']],
    ['2001:db8::5/128', null, ['2001:db8::5-2001:db8::5']],
    ['::/0', '::1', ['::2-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ])('%s gateway %s -> %j', (c, gw, expected) => {
    expect(pools(c, gw)).toEqual(expected);
  });

  it('refuses a gateway of the other version', () => {
    expect(() => pools('10.0.0.0/24', '::1')).toThrow(/gateway ::1 is not an IPv4 address/);
  });

  it('produces pools that validate', () => {
    for (const c of ['10.0.0.0/24', '10.0.0.0/31', '10.0.0.0/32', '2001:db8::/64', '2001:db8::/127']) {
      const subnet = cidr(c);
      const gateway = defaultGateway(subnet);
      expect(validateSubnet({ cidr: subnet, gatewayIp: gateway, allocationPools: defaultAllocationPools(subnet, gateway) })).toEqual([]);
    }
  });

  it('exposes the usable range', () => {
    expect(formatRange(usableRange(cidr('10.0.0.0/30')))).toBe('10.0.0.1-10.0.0.2');
    expect(formatRange(usableRange(cidr('2001:db8::/126')))).toBe('2001:db8::1-2001:db8::3');
  });
});

describe('validateGateway and validateFixedIp', () => {
  // the same address as a subnet's gateway and as a port's fixed IP
  it.each([
    ['10.0.0.0/24', '10.0.0.1', [], []],
    ['10.0.0.0/24', '10.0.0.77', [], []],
    ['10.0.0.0/24', '10.0.0.0', ['gateway_is_network_address'], ['ip_is_network_address']],
    ['10.0.0.0/24', '10.0.0.255', ['gateway_is_broadcast_address'], ['ip_is_broadcast_address']],
    ['10.0.0.0/24', '10.0.1.1', ['gateway_outside_cidr'], ['ip_outside_cidr']],
    ['10.0.0.0/24', '::1', ['gateway_version_mismatch'], ['ip_version_mismatch']],
    ['10.0.0.0/31', '10.0.0.0', [], []],
    ['10.0.0.0/31', '10.0.0.1', [], []],
    ['10.0.0.5/32', '10.0.0.5', [], []],
    ['2001:db8::/64', '2001:db8::', [], ['ip_is_network_address']], // subnet-router anycast: a valid gateway, a port's only when allowed
    ['2001:db8::/64', '2001:db8::ffff:ffff:ffff:ffff', [], []], // no broadcast in IPv6
    ['2001:db8::/64', '2001:db8:1::1', ['gateway_outside_cidr'], ['ip_outside_cidr']],
  ])('%s: %s as gateway -> %j, as fixed IP -> %j', (c, address, asGateway, asFixedIp) => {
    expect(codes(validateGateway(cidr(c), ip(address)))).toEqual(asGateway);
    expect(codes(validateFixedIp(cidr(c), ip(address)))).toEqual(asFixedIp);
  });
});

describe('validateGateway', () => {
  it('explains the problem and can allow off-subnet gateways', () => {
    expect(validateGateway(cidr('10.0.0.0/24'), ip('10.0.0.255'))[0]?.message).toBe('Gateway IP 10.0.0.255 is the broadcast address of subnet 10.0.0.0/24');
    expect(validateGateway(cidr('10.0.0.0/24'), ip('10.0.1.1'), { allowOutsideCidr: true })).toEqual([]);
  });
});

describe('validateAllocationPools', () => {
  const subnet = cidr('10.0.0.0/24');
  const gw = ip('10.0.0.1');
  const r = (a: string, b: string): IpRange => parseRange(a, b);

  it('accepts disjoint pools inside the usable range', () => {
    expect(validateAllocationPools(subnet, [r('10.0.0.2', '10.0.0.100'), r('10.0.0.101', '10.0.0.254')], gw)).toEqual([]);
  });

  it('reports pools reaching the network or broadcast address', () => {
    const problems = validateAllocationPools(subnet, [r('10.0.0.0', '10.0.0.10'), r('10.0.0.200', '10.0.0.255')], null);
    expect(problems.map((p) => [p.code, p.poolIndex])).toEqual([
      ['pool_out_of_bounds', 0],
      ['pool_out_of_bounds', 1],
    ]);
    expect(problems[0]?.message).toBe('The allocation pool 10.0.0.0-10.0.0.10 spans beyond the usable addresses 10.0.0.1-10.0.0.254 of subnet 10.0.0.0/24');
  });

  it('reports the IPv6 subnet-router anycast address but not the last address', () => {
    const v6 = cidr('2001:db8::/64');
    expect(codes(validateAllocationPools(v6, [r('2001:db8::', '2001:db8::10')], null))).toEqual(['pool_out_of_bounds']);
    expect(validateAllocationPools(v6, [r('2001:db8::1', '2001:db8::ffff:ffff:ffff:ffff')], null)).toEqual([]);
  });

  it('reports overlapping pools with their indexes, whatever their order', () => {
    const problems = validateAllocationPools(
      subnet,
      [r('10.0.0.100', '10.0.0.150'), r('10.0.0.2', '10.0.0.9'), r('10.0.0.50', '10.0.0.100'), r('10.0.0.120', '10.0.0.130')],
      null,
    );
    expect(problems.map((p) => [p.code, p.poolIndex, p.otherPoolIndex])).toEqual([
      ['pools_overlap', 0, 2],
      ['pools_overlap', 0, 3],
    ]);
    expect(problems[0]?.message).toBe('Found overlapping allocation pools: 10.0.0.100-10.0.0.150 10.0.0.50-10.0.0.100 for subnet 10.0.0.0/24');
    expect(validateAllocationPools(subnet, [r('10.0.0.2', '10.0.0.9'), r('10.0.0.10', '10.0.0.20')], null)).toEqual([]);
  });

  it('finds an overlap behind a pool nested in a larger one', () => {
    const problems = validateAllocationPools(subnet, [r('10.0.0.50', '10.0.0.60'), r('10.0.0.20', '10.0.0.30'), r('10.0.0.10', '10.0.0.100')], null);
    expect(problems.map((p) => [p.code, p.poolIndex, p.otherPoolIndex])).toEqual([
      ['pools_overlap', 1, 2],
      ['pools_overlap', 0, 2],
    ]);
  });

  it('reports the pool containing the gateway', () => {
    const problems = validateAllocationPools(subnet, [r('10.0.0.2', '10.0.0.9'), r('10.0.0.1', '10.0.0.1')], gw);
    expect(problems).toEqual([
      {
        code: 'pool_contains_gateway',
        poolIndex: 1,
        message: 'Gateway IP 10.0.0.1 conflicts with allocation pool 10.0.0.1-10.0.0.1',
      },
    ]);
  });

  it('reports version mismatches and reversed pools, and skips them afterwards', () => {
    const reversed: IpRange = { version: 4, first: 0x0a000009n, last: 0x0a000002n };
    const problems = validateAllocationPools(subnet, [r('::1', '::9'), reversed, r('10.0.0.2', '10.0.0.9')], gw);
    expect(problems.map((p) => [p.code, p.poolIndex])).toEqual([
      ['pool_version_mismatch', 0],
      ['pool_reversed', 1],
    ]);
  });

  it('combines gateway and pool problems in validateSubnet', () => {
    const problems = validateSubnet({
      cidr: subnet,
      gatewayIp: ip('10.0.0.0'),
      allocationPools: [r('10.0.0.0', '10.0.0.5')],
    });
    expect(codes(problems)).toEqual(['gateway_is_network_address', 'pool_out_of_bounds', 'pool_contains_gateway']);
  });
});

describe('validateFixedIp', () => {
  it('lets router ports take the IPv6 subnet-router anycast address when allowed', () => {
    expect(validateFixedIp(cidr('2001:db8::/64'), ip('2001:db8::'), { allowSubnetRouterAnycast: true })).toEqual([]);
    expect(codes(validateFixedIp(cidr('10.0.0.0/24'), ip('10.0.0.0'), { allowSubnetRouterAnycast: true }))).toEqual(['ip_is_network_address']);
  });
});
