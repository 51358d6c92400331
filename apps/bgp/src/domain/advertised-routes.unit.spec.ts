import { describe, expect, it } from 'vitest';
import { advertisedRoutes, type FloatingIpFacts, type RouterFacts, type SpeakerFacts, type SubnetFacts } from './advertised-routes';

// The reference scenario: Public-Net's subnet and the tenant subnet share the address scope
// test-no-nat; another tenant subnet is in a different scope, a third in none.
const subnets = new Map<string, SubnetFacts>(
  [
    { id: 'pub4', ipVersion: 4, cidr: '192.168.81.0/26', addressScopeId: 'scope4' },
    { id: 'nonat', ipVersion: 4, cidr: '192.168.81.64/26', addressScopeId: 'scope4' },
    { id: 'other', ipVersion: 4, cidr: '10.9.0.0/24', addressScopeId: 'scope-other' },
    { id: 'private', ipVersion: 4, cidr: '172.16.100.0/24', addressScopeId: null },
    { id: 'pub6', ipVersion: 6, cidr: '2001:db8:bad:cafe::/64', addressScopeId: 'scope6' },
    { id: 'ten6', ipVersion: 6, cidr: '2001:db8:bad:face::/64', addressScopeId: 'scope6' },
  ].map((s) => [s.id, s]),
);
const r1: RouterFacts = {
  id: 'r1',
  gateway: {
    networkId: 'public',
    fixedIps: [
      { subnetId: 'pub4', ipAddress: '192.168.81.2' },
      { subnetId: 'pub6', ipAddress: '2001:DB8:BAD:CAFE::2' },
    ],
  },
  interfaceSubnetIds: ['nonat', 'other', 'private', 'ten6'],
};
const elsewhere: RouterFacts = {
  id: 'r2',
  gateway: { networkId: 'other-ext', fixedIps: [{ subnetId: 'pub4', ipAddress: '192.168.81.9' }] },
  interfaceSubnetIds: ['nonat'],
};
const noGateway: RouterFacts = { id: 'r3', gateway: null, interfaceSubnetIds: ['nonat'] };
const fips: FloatingIpFacts[] = [
  { floatingIpAddress: '192.168.81.30', floatingNetworkId: 'public', routerId: 'r1', fixedIpAddress: '172.16.100.10' },
  { floatingIpAddress: '192.168.81.31', floatingNetworkId: 'public', routerId: null, fixedIpAddress: null },
];
const speaker = (over: Partial<SpeakerFacts> = {}): SpeakerFacts => ({
  ipVersion: null,
  advertiseTenantNetworks: true,
  advertiseFloatingIpHostRoutes: true,
  networkIds: ['public'],
  ...over,
});

describe('advertised routes', () => {
  it("advertises same-scope tenant subnets and associated floating IPs via the router's gateway address, both families", () => {
    expect(advertisedRoutes(speaker(), [r1, elsewhere, noGateway], subnets, fips)).toEqual([
      { destination: '192.168.81.30/32', nextHop: '192.168.81.2' },
      { destination: '192.168.81.64/26', nextHop: '192.168.81.2' },
      { destination: '2001:db8:bad:face::/64', nextHop: '2001:db8:bad:cafe::2' },
    ]);
  });

  it('never advertises a subnet in another address scope or in none', () => {
    const destinations = advertisedRoutes(speaker(), [r1], subnets, []).map((r) => r.destination);
    expect(destinations).not.toContain('10.9.0.0/24');
    expect(destinations).not.toContain('172.16.100.0/24');
  });

  it('follows ip_version and the two advertise switches', () => {
    expect(advertisedRoutes(speaker({ ipVersion: 6 }), [r1], subnets, fips)).toEqual([
      { destination: '2001:db8:bad:face::/64', nextHop: '2001:db8:bad:cafe::2' },
    ]);
    expect(advertisedRoutes(speaker({ ipVersion: 4, advertiseTenantNetworks: false }), [r1], subnets, fips)).toEqual([
      { destination: '192.168.81.30/32', nextHop: '192.168.81.2' },
    ]);
    expect(advertisedRoutes(speaker({ ipVersion: 4, advertiseFloatingIpHostRoutes: false }), [r1], subnets, fips)).toEqual([
      { destination: '192.168.81.64/26', nextHop: '192.168.81.2' },
    ]);
  });

  it('advertises nothing for routers whose gateway is on another network, or without one', () => {
    expect(advertisedRoutes(speaker({ networkIds: ['unrelated'] }), [r1, elsewhere, noGateway], subnets, fips)).toEqual([]);
    expect(advertisedRoutes(speaker(), [noGateway], subnets, fips)).toEqual([]);
  });
});
