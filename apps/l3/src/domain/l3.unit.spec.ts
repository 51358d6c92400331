import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { type RouterEvent } from '@ncp/contracts';
import { l3RegistryDecider } from './registry.decider';
import { routerDecider } from './router.decider';
import { routerIntent, type RouterFacts, type SubnetFacts } from './router-intent';

const R = '33333333-0000-4000-8000-000000000001';

describe('router intent (NAT policy)', () => {
  const subnets = new Map<string, SubnetFacts>([
    ['ext4', { cidr: '192.168.81.0/26', ipVersion: 4, gatewayIp: '192.168.81.1', addressScopeId: 'scope-nonat' }],
    ['ext6', { cidr: '2001:db8:ffff::/64', ipVersion: 6, gatewayIp: '2001:db8:ffff::1', addressScopeId: null }],
    ['same-scope', { cidr: '192.168.81.64/26', ipVersion: 4, gatewayIp: '192.168.81.65', addressScopeId: 'scope-nonat' }],
    ['private', { cidr: '172.16.100.0/24', ipVersion: 4, gatewayIp: '172.16.100.1', addressScopeId: null }],
    ['v6', { cidr: '2001:db8:1::/64', ipVersion: 6, gatewayIp: '2001:db8:1::1', addressScopeId: null }],
  ]);
  const facts: RouterFacts = {
    id: R,
    adminStateUp: true,
    enableSnat: true,
    natExclusions: ['10.200.0.0/16', '2001:db8:99::/48'],
    routes: [{ destination: '2001:db8:0:2::/64', nexthop: '2001:db8:1::20' }],
    gateway: { portId: '4a444444-0000-4000-8000-00000000000a', fixedIps: [{ subnetId: 'ext4', ipAddress: '192.168.81.2' }, { subnetId: 'ext6', ipAddress: '2001:db8:ffff::2' }] },
    interfaces: [
      { portId: '41444444-0000-4000-8000-000000000001', fixedIps: [{ subnetId: 'same-scope', ipAddress: '192.168.81.65' }] },
      { portId: '42444444-0000-4000-8000-000000000002', fixedIps: [{ subnetId: 'private', ipAddress: '172.16.100.1' }] },
      { portId: '43444444-0000-4000-8000-000000000003', fixedIps: [{ subnetId: 'v6', ipAddress: '2001:db8:1::1' }] },
    ],
    floatingIps: [{ id: '55555555-0000-4000-8000-000000000001', floatingIpAddress: '192.168.81.20', fixedIpAddress: '172.16.100.10' }],
  };

  it('routes the same-scope subnet without NAT, SNATs the others except towards exclusions, never NATs IPv6', () => {
    const intent = routerIntent(facts, subnets);
    expect(intent.snat).toEqual([{ source: '172.16.100.0/24', to: '192.168.81.2', exceptDestinations: ['10.200.0.0/16'] }]);
    expect(intent.floatingIps).toEqual([{ id: '55555555-0000-4000-8000-000000000001', floatingIp: '192.168.81.20', fixedIp: '172.16.100.10' }]);
    expect(intent.routes).toEqual([
      { destination: '0.0.0.0/0', nexthop: '192.168.81.1' },
      { destination: '::/0', nexthop: '2001:db8:ffff::1' },
      { destination: '2001:db8:0:2::/64', nexthop: '2001:db8:1::20' },
    ]);
    expect(intent.namespace).toBe('qrouter-33333333');
    expect(intent.interfaces.map((i) => [i.ifname, i.addresses])).toEqual([
      ['qr-41444444000', ['192.168.81.65/26']],
      ['qr-42444444000', ['172.16.100.1/24']],
      ['qr-43444444000', ['2001:db8:1::1/64']],
      ['qg-4a444444000', ['192.168.81.2/26', '2001:db8:ffff::2/64']],
    ]);
  });

  it('does no SNAT with enable_snat off or without a gateway, but keeps floating IPs', () => {
    expect(routerIntent({ ...facts, enableSnat: false }, subnets).snat).toEqual([]);
    const noGateway = routerIntent({ ...facts, gateway: null }, subnets);
    expect([noGateway.snat, noGateway.routes.map((r) => r.destination)]).toEqual([[], ['2001:db8:0:2::/64']]);
  });
});

describe('router decider', () => {
  const spec = deciderSpec(routerDecider);
  const created: RouterEvent = {
    type: 'RouterCreated',
    data: { projectId: 'project-a', name: 'r', description: '', adminStateUp: true, ha: false, distributed: false, natExclusions: [] },
  };
  const added: RouterEvent = {
    type: 'RouterInterfaceAdded',
    data: { portId: 'p1', networkId: 'n1', fixedIps: [{ subnetId: 's1', ipAddress: '10.0.0.1' }], subnets: [{ subnetId: 's1', cidr: '10.0.0.0/24' }] },
  };
  const admin = { isAdmin: true };

  it('refuses interfaces on overlapping subnets and routes through unconnected nexthops', () => {
    spec
      .given([created, added])
      .when({ type: 'AddInterface', id: R, portId: 'p2', networkId: 'n2', fixedIps: [], subnets: [{ subnetId: 's2', cidr: '10.0.0.128/25' }] }, admin)
      .thenThrows('L3.BadRequest', /overlaps/);
    spec.given([created, added]).when({ type: 'SetRoutes', id: R, routes: [{ destination: '10.9.0.0/16', nexthop: '10.1.0.1' }] }, admin).thenThrows('L3.BadRequest', /not connected/);
    spec
      .given([created, added])
      .when({ type: 'SetRoutes', id: R, routes: [{ destination: '10.9.0.0/16', nexthop: '10.0.0.9' }] }, admin)
      .then([{ type: 'RouterRoutesSet', data: { routes: [{ destination: '10.9.0.0/16', nexthop: '10.0.0.9' }] } }]);
  });

  it('refuses deletion with interfaces and NAT exclusions that are not CIDRs', () => {
    spec.given([created, added]).when({ type: 'DeleteRouter', id: R }, admin).thenThrows('L3.RouterInUse');
    spec
      .given([])
      .when({ type: 'CreateRouter', id: R, projectId: 'p', attributes: { name: '', description: '', adminStateUp: true, ha: false, distributed: false, natExclusions: ['prod'] } })
      .thenThrows('L3.BadRequest', /not a valid IP subnet/);
  });

  it('ignores scheduling and status that change nothing', () => {
    const scheduled: RouterEvent = { type: 'RouterScheduled', data: { host: 'a1', row: 'row-a' } };
    spec.given([created, scheduled]).when({ type: 'Schedule', id: R, host: 'a1', row: 'row-a' }, admin).then([]);
    spec.given([created]).when({ type: 'SetStatus', id: R, status: 'BUILD', reason: '' }, admin).then([]);
  });
});

describe('floating IP registry', () => {
  const spec = deciderSpec(l3RegistryDecider);
  const claimed = { type: 'FixedIpFloatingIpClaimed' as const, data: { portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f1' } };
  it('gives a fixed address at most one floating IP', () => {
    spec.given([claimed]).when({ type: 'ClaimFixedIp', portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f2', floatingIpAddress: '' }).thenThrows('L3.FloatingIPPortAlreadyAssociated');
    spec.given([claimed]).when({ type: 'ClaimFixedIp', portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f1', floatingIpAddress: '' }).then([]);
    spec.given([claimed]).when({ type: 'ReleaseFixedIp', portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f2' }).then([]);
  });
});
