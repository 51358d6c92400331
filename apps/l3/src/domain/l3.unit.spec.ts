import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { type RouterEvent } from '@ncp/contracts';
import { l3RegistryDecider } from './registry.decider';
import { MAX_ROUTES_PER_ROUTER, routerDecider } from './router.decider';
import { learnedRoutesToInstall, routerIntent, type LearnedRouteFacts, type RouterFacts, type SubnetFacts } from './router-intent';

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
    gateway: {
      portId: '4a444444-0000-4000-8000-00000000000a',
      fixedIps: [
        { subnetId: 'ext4', ipAddress: '192.168.81.2' },
        { subnetId: 'ext6', ipAddress: '2001:db8:ffff::2' },
      ],
    },
    interfaces: [
      { portId: '41444444-0000-4000-8000-000000000001', fixedIps: [{ subnetId: 'same-scope', ipAddress: '192.168.81.65' }] },
      { portId: '42444444-0000-4000-8000-000000000002', fixedIps: [{ subnetId: 'private', ipAddress: '172.16.100.1' }] },
      { portId: '43444444-0000-4000-8000-000000000003', fixedIps: [{ subnetId: 'v6', ipAddress: '2001:db8:1::1' }] },
    ],
    floatingIps: [{ id: '55555555-0000-4000-8000-000000000001', floatingIpAddress: '192.168.81.20', fixedIpAddress: '172.16.100.10' }],
  };

  it('is the same intent whatever order the floating IPs come in (Postgres returns an updated row elsewhere)', () => {
    const two = [
      { id: '56555555-0000-4000-8000-000000000002', floatingIpAddress: '192.168.81.21', fixedIpAddress: '172.16.100.11' },
      { id: '55555555-0000-4000-8000-000000000001', floatingIpAddress: '192.168.81.20', fixedIpAddress: '172.16.100.10' },
    ];
    const one = JSON.stringify(routerIntent({ ...facts, floatingIps: two }, subnets));
    expect(JSON.stringify(routerIntent({ ...facts, floatingIps: [...two].reverse() }, subnets))).toBe(one);
    expect(routerIntent({ ...facts, floatingIps: two }, subnets).floatingIps.map((f) => f.floatingIp)).toEqual(['192.168.81.20', '192.168.81.21']);
  });

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

describe('router intent (routes learned by BGP)', () => {
  const subnets = new Map<string, SubnetFacts>([
    ['ext4', { cidr: '192.168.81.0/26', ipVersion: 4, gatewayIp: '192.168.81.1', addressScopeId: null }],
    ['ext6', { cidr: '2001:db8:ffff::/64', ipVersion: 6, gatewayIp: '2001:db8:ffff::1', addressScopeId: null }],
    ['private', { cidr: '172.16.100.0/24', ipVersion: 4, gatewayIp: '172.16.100.1', addressScopeId: null }],
  ]);
  const router: RouterFacts = {
    id: R,
    adminStateUp: true,
    enableSnat: true,
    natExclusions: [],
    routes: [{ destination: '10.50.0.0/16', nexthop: '172.16.100.9' }],
    gateway: {
      portId: '4a444444-0000-4000-8000-00000000000a',
      fixedIps: [
        { subnetId: 'ext4', ipAddress: '192.168.81.2' },
        { subnetId: 'ext6', ipAddress: '2001:db8:ffff::2' },
      ],
    },
    interfaces: [{ portId: '42444444-0000-4000-8000-000000000002', fixedIps: [{ subnetId: 'private', ipAddress: '172.16.100.1' }] }],
    floatingIps: [],
  };
  const learned = (destination: string, nextHop: string, over: Partial<LearnedRouteFacts> = {}): LearnedRouteFacts => ({
    destination,
    nextHop,
    asPathLength: 1,
    med: null,
    localPref: 100,
    ...over,
  });

  it('replaces the static default route of a family by the learned one: ECMP over the core routers, each next hop once', () => {
    const intent = routerIntent(
      {
        ...router,
        learnedRoutes: [
          // both speaker hosts learned both core routers
          learned('0.0.0.0/0', '192.168.81.3'),
          learned('0.0.0.0/0', '192.168.81.1'),
          learned('0.0.0.0/0', '192.168.81.3'),
          learned('0.0.0.0/0', '192.168.81.1'),
        ],
      },
      subnets,
    );
    expect(intent.routes).toEqual([
      { destination: '0.0.0.0/0', nexthop: '192.168.81.1' },
      { destination: '0.0.0.0/0', nexthop: '192.168.81.3' },
      { destination: '::/0', nexthop: '2001:db8:ffff::1' },
      { destination: '10.50.0.0/16', nexthop: '172.16.100.9' },
    ]);
    // nothing learned (withdrawn): the static default route again
    expect(routerIntent({ ...router, learnedRoutes: [] }, subnets).routes).toEqual(routerIntent(router, subnets).routes);
    expect(routerIntent(router, subnets).routes[0]).toEqual({ destination: '0.0.0.0/0', nexthop: '192.168.81.1' });
  });

  it('installs accepted prefixes as routes, by the best paths only (local preference, AS path, MED)', () => {
    const routes = learnedRoutesToInstall(
      {
        ...router,
        learnedRoutes: [
          learned('10.99.0.0/16', '192.168.81.1', { localPref: 200 }),
          learned('10.99.0.0/16', '192.168.81.3', { localPref: 100 }),
          learned('10.98.0.0/16', '192.168.81.1', { asPathLength: 3 }),
          learned('10.98.0.0/16', '192.168.81.3', { asPathLength: 2 }),
          learned('10.97.0.0/16', '192.168.81.1', { med: 20 }),
          learned('10.97.0.0/16', '192.168.81.3', { med: null }),
          learned('10.97.0.0/16', '192.168.81.4', { med: 0 }),
          learned('2001:db8:100::/40', '2001:db8:ffff::1'),
        ],
      },
      subnets,
    );
    expect(Object.fromEntries(routes)).toEqual({
      '10.99.0.0/16': ['192.168.81.1'],
      '10.98.0.0/16': ['192.168.81.3'],
      '10.97.0.0/16': ['192.168.81.3', '192.168.81.4'],
      '2001:db8:100::/40': ['2001:db8:ffff::1'],
    });
  });

  it('ignores next hops off the gateway subnet or of the router itself, connected destinations, extra routes, routers without a gateway', () => {
    const odd = {
      ...router,
      learnedRoutes: [
        learned('0.0.0.0/0', '10.255.0.1'), // the core's peering address: not on the gateway subnet
        learned('10.1.0.0/16', '192.168.81.2'), // the router's own gateway address
        learned('10.2.0.0/16', '172.16.100.5'), // on an internal subnet, not the gateway's
        learned('172.16.100.0/25', '192.168.81.1'), // inside an attached subnet
        learned('192.168.81.0/26', '192.168.81.1'), // the gateway subnet itself
        learned('10.50.0.0/16', '192.168.81.1'), // an extra route's destination
        learned('::/0', '192.168.81.1'), // wrong family
      ],
    };
    expect(learnedRoutesToInstall(odd, subnets)).toEqual(new Map());
    expect(routerIntent(odd, subnets).routes).toEqual(routerIntent(router, subnets).routes);
    expect(learnedRoutesToInstall({ ...router, gateway: null, learnedRoutes: [learned('0.0.0.0/0', '192.168.81.1')] }, subnets)).toEqual(new Map());
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
    spec
      .given([created, added])
      .when({ type: 'SetRoutes', id: R, routes: [{ destination: '10.9.0.0/16', nexthop: '10.1.0.1' }] }, admin)
      .thenThrows('L3.BadRequest', /not connected/);
    spec
      .given([created, added])
      .when({ type: 'SetRoutes', id: R, routes: [{ destination: '10.9.0.0/16', nexthop: '10.0.0.9' }] }, admin)
      .then([{ type: 'RouterRoutesSet', data: { routes: [{ destination: '10.9.0.0/16', nexthop: '10.0.0.9' }] } }]);
  });

  it('refuses deletion with interfaces and NAT exclusions that are not CIDRs', () => {
    spec.given([created, added]).when({ type: 'DeleteRouter', id: R }, admin).thenThrows('L3.RouterInUse');
    spec
      .given([])
      .when({
        type: 'CreateRouter',
        id: R,
        projectId: 'p',
        attributes: { name: '', description: '', adminStateUp: true, ha: false, distributed: false, natExclusions: ['prod'] },
      })
      .thenThrows('L3.BadRequest', /not a valid IP subnet/);
  });

  it('ignores scheduling and status that change nothing, and keeps the first placement', () => {
    const scheduled: RouterEvent = { type: 'RouterScheduled', data: { host: 'a1', row: 'row-a' } };
    spec.given([created, scheduled]).when({ type: 'Schedule', id: R, host: 'a1', row: 'row-a' }, admin).then([]);
    // a second placement loop that chose another host does not move the router
    spec.given([created, scheduled]).when({ type: 'Schedule', id: R, host: 'b2', row: 'row-b' }, admin).then([]);
    spec.given([created, scheduled]).when({ type: 'SetStatus', id: R, status: 'BUILD', reason: '', host: 'a1' }, admin).then([]);
    // a late report of a host the router does not run on says nothing
    spec.given([created, scheduled]).when({ type: 'SetStatus', id: R, status: 'ACTIVE', reason: '', host: 'b2' }, admin).then([]);
    spec
      .given([created, scheduled])
      .when({ type: 'SetStatus', id: R, status: 'ACTIVE', reason: 'up', host: 'a1' }, admin)
      .then([{ type: 'RouterStatusChanged', data: { status: 'ACTIVE', reason: 'up' } }]);
  });

  it('changes ha only while the router is down, as Neutron migrates routers to and from HA', () => {
    const down: RouterEvent = { type: 'RouterUpdated', data: { changes: { adminStateUp: false } } };
    spec
      .given([created])
      .when({ type: 'UpdateRouter', id: R, changes: { ha: true } }, admin)
      .thenThrows('L3.BadRequest', /Cannot change HA attribute of active routers/);
    // not even with admin_state_up false in the same request: the router is up until it is not
    spec
      .given([created])
      .when({ type: 'UpdateRouter', id: R, changes: { ha: true, adminStateUp: false } }, admin)
      .thenThrows('L3.BadRequest', /set router admin_state_up to False/);
    spec
      .given([created, down])
      .when({ type: 'UpdateRouter', id: R, changes: { ha: true } }, admin)
      .then([{ type: 'RouterUpdated', data: { changes: { ha: true } } }]);
    // the same value is no change of HA
    spec
      .given([created])
      .when({ type: 'UpdateRouter', id: R, changes: { ha: false, name: 'x' } }, admin)
      .then([{ type: 'RouterUpdated', data: { changes: { ha: false, name: 'x' } } }]);
  });

  it('moves a legacy router off its dead host, from the host it was seen on only', () => {
    const scheduled: RouterEvent = { type: 'RouterScheduled', data: { host: 'a1', row: 'row-a' } };
    spec
      .given([created, scheduled])
      .when({ type: 'Reschedule', id: R, from: 'a1', host: 'b1', row: 'row-b' }, admin)
      .then([{ type: 'RouterScheduled', data: { host: 'b1', row: 'row-b' } }]);
    // a placement that saw an older host, a move to the same host, an HA router: nothing
    spec.given([created, scheduled]).when({ type: 'Reschedule', id: R, from: 'c1', host: 'b1', row: 'row-b' }, admin).then([]);
    spec.given([created, scheduled]).when({ type: 'Reschedule', id: R, from: 'a1', host: 'a1', row: 'row-a' }, admin).then([]);
    const createdHa: RouterEvent = { ...created, data: { ...created.data, ha: true } };
    spec.given([createdHa]).when({ type: 'Reschedule', id: R, from: 'a1', host: 'b1', row: 'row-b' }, admin).then([]);
  });

  it('moves the placement with a migration: a router become HA leaves its one host and is never given one; a legacy one lets its HA hosts go', () => {
    const scheduled: RouterEvent = { type: 'RouterScheduled', data: { host: 'a1', row: 'row-a' } };
    const down: RouterEvent = { type: 'RouterUpdated', data: { changes: { adminStateUp: false } } };
    const toHa: RouterEvent = { type: 'RouterUpdated', data: { changes: { ha: true } } };
    spec
      .given([created, scheduled, down, toHa])
      .when({ type: 'Unschedule', id: R }, admin)
      .then([{ type: 'RouterUnscheduled', data: { host: 'a1' } }]);
    // a legacy router keeps its host; an HA router without one has nothing to give up
    spec.given([created, scheduled]).when({ type: 'Unschedule', id: R }, admin).then([]);
    const unscheduled: RouterEvent = { type: 'RouterUnscheduled', data: { host: 'a1' } };
    spec.given([created, scheduled, down, toHa, unscheduled]).when({ type: 'Unschedule', id: R }, admin).then([]);
    // a legacy placement that read the router before it became HA is not heard
    spec.given([created, down, toHa]).when({ type: 'Schedule', id: R, host: 'b1', row: 'row-b' }, admin).then([]);

    const createdHa: RouterEvent = { ...created, data: { ...created.data, ha: true } };
    const hosts = [
      { host: 'a1', row: 'row-a', haPortId: 'ha-port-a' },
      { host: 'b1', row: 'row-b', haPortId: 'ha-port-b' },
    ];
    const set: RouterEvent = { type: 'RouterHaHostsSet', data: { vrid: 3, networkId: 'ha-net', hosts } };
    const toLegacy: RouterEvent = { type: 'RouterUpdated', data: { changes: { ha: false } } };
    spec
      .given([createdHa, set, down, toLegacy])
      .when({ type: 'SetHaHosts', id: R, vrid: 3, networkId: 'ha-net', hosts: [], seen: ['ha-port-a', 'ha-port-b'] }, admin)
      .then([{ type: 'RouterHaHostsSet', data: { vrid: 3, networkId: 'ha-net', hosts: [] } }]);
    const dropped: RouterEvent = { type: 'RouterHaHostsSet', data: { vrid: 3, networkId: 'ha-net', hosts: [] } };
    spec
      .given([createdHa, set, down, toLegacy, dropped])
      .when({ type: 'Schedule', id: R, host: 'b1', row: 'row-b' }, admin)
      .then([{ type: 'RouterScheduled', data: { host: 'b1', row: 'row-b' } }]);
  });

  it("records an HA router's hosts, hears status from each and each host's own VRRP role", () => {
    const createdHa: RouterEvent = { ...created, data: { ...created.data, ha: true } };
    const hostA = { host: 'a1', row: 'row-a', haPortId: 'ha-port-a' };
    const hostB = { host: 'b1', row: 'row-b', haPortId: 'ha-port-b' };
    const hosts = [hostA, hostB];
    const set: RouterEvent = { type: 'RouterHaHostsSet', data: { vrid: 3, networkId: 'ha-net', hosts } };
    spec.given([createdHa]).when({ type: 'SetHaHosts', id: R, vrid: 3, networkId: 'ha-net', hosts, seen: [] }, admin).then([set]);
    spec
      .given([createdHa, set])
      .when({ type: 'SetHaHosts', id: R, vrid: 3, networkId: 'ha-net', hosts, seen: ['ha-port-a', 'ha-port-b'] }, admin)
      .then([]);
    // a placement that decided on what it saw before another one's: refused (it deletes its ports)
    spec
      .given([createdHa, set])
      .when({ type: 'SetHaHosts', id: R, vrid: 3, networkId: 'ha-net', hosts: [{ host: 'a2', row: 'row-a', haPortId: 'ha-port-a2' }, hostB], seen: [] }, admin)
      .thenThrows('L3.RouterHaHostsChanged');
    // a dead host replaced
    const replaced = [hostA, { host: 'b2', row: 'row-b', haPortId: 'ha-port-b2' }];
    spec
      .given([createdHa, set])
      .when({ type: 'SetHaHosts', id: R, vrid: 3, networkId: 'ha-net', hosts: replaced, seen: ['ha-port-a', 'ha-port-b'] }, admin)
      .then([{ type: 'RouterHaHostsSet', data: { vrid: 3, networkId: 'ha-net', hosts: replaced } }]);
    spec.given([created]).when({ type: 'SetHaHosts', id: R, vrid: 3, networkId: 'ha-net', hosts, seen: [] }, admin).thenThrows('L3.RouterNotHa');
    spec
      .given([createdHa])
      .when({ type: 'SetHaHosts', id: R, vrid: 3, networkId: 'ha-net', hosts: [hostA, hostA], seen: [] }, admin)
      .thenThrows('L3.BadRequest', /once on a host/);
    // both hosts speak for the router's status; a host it does not run on does not
    spec
      .given([createdHa, set])
      .when({ type: 'SetStatus', id: R, status: 'ACTIVE', reason: 'up', host: 'b1' }, admin)
      .then([{ type: 'RouterStatusChanged', data: { status: 'ACTIVE', reason: 'up' } }]);
    spec.given([createdHa, set]).when({ type: 'SetStatus', id: R, status: 'ACTIVE', reason: 'up', host: 'c1' }, admin).then([]);
    const active: RouterEvent = { type: 'RouterHaStateChanged', data: { host: 'a1', haState: 'active' } };
    spec.given([createdHa, set]).when({ type: 'SetHaState', id: R, host: 'a1', haState: 'active' }, admin).then([active]);
    spec.given([createdHa, set, active]).when({ type: 'SetHaState', id: R, host: 'a1', haState: 'active' }, admin).then([]);
    spec.given([createdHa, set]).when({ type: 'SetHaState', id: R, host: 'c1', haState: 'active' }, admin).then([]);
    // a replaced host's role is forgotten: the new host's first report is news
    spec
      .given([
        createdHa,
        set,
        { type: 'RouterHaStateChanged', data: { host: 'b1', haState: 'standby' } },
        { type: 'RouterHaHostsSet', data: { vrid: 3, networkId: 'ha-net', hosts: [hostA] } },
        { type: 'RouterHaHostsSet', data: { vrid: 3, networkId: 'ha-net', hosts } },
      ])
      .when({ type: 'SetHaState', id: R, host: 'b1', haState: 'standby' }, admin)
      .then([{ type: 'RouterHaStateChanged', data: { host: 'b1', haState: 'standby' } }]);
  });

  const route = (destination: string, nexthop: string) => ({ destination, nexthop });
  const routesSet = (...routes: { destination: string; nexthop: string }[]): RouterEvent => ({ type: 'RouterRoutesSet', data: { routes } });

  it('adds and removes extra routes on the routes it has now (extraroute-atomic)', () => {
    const r1 = route('10.9.0.0/16', '10.0.0.9');
    const r2 = route('10.8.0.0/16', '10.0.0.8');
    // each change applies to the current set: what another request added meanwhile stays
    spec
      .given([created, added, routesSet(r1)])
      .when({ type: 'ChangeRoutes', id: R, add: [r2], remove: [] }, admin)
      .then([routesSet(r1, r2)]);
    spec
      .given([created, added, routesSet(r1, r2)])
      .when({ type: 'ChangeRoutes', id: R, add: [], remove: [r1] }, admin)
      .then([routesSet(r2)]);
    // already there, or absent from a removal: nothing changes
    spec
      .given([created, added, routesSet(r1)])
      .when({ type: 'ChangeRoutes', id: R, add: [route('10.9.0.0/16', '10.0.0.9')], remove: [r2] }, admin)
      .then([]);
    spec
      .given([created, added])
      .when({ type: 'ChangeRoutes', id: R, add: [route('10.7.0.0/16', '10.5.0.1')], remove: [] }, admin)
      .thenThrows('L3.BadRequest', /not connected/);
    spec
      .given([created, added])
      .when({ type: 'ChangeRoutes', id: R, add: [r1], remove: [] }, { projectId: 'project-b' })
      .thenThrows('L3.RouterNotFound');
  });

  it('holds at most MAX_ROUTES_PER_ROUTER routes in all, however many requests add them', () => {
    const full = Array.from({ length: MAX_ROUTES_PER_ROUTER }, (_, i) => route(`10.${100 + Math.floor(i / 256)}.${i % 256}.0/24`, '10.0.0.9'));
    spec
      .given([created, added, routesSet(...full.slice(1))])
      .when({ type: 'ChangeRoutes', id: R, add: [full[0] ?? route('x', 'y')], remove: [] }, admin)
      .then([routesSet(...full.slice(1), ...full.slice(0, 1))]);
    spec
      .given([created, added, routesSet(...full)])
      .when({ type: 'ChangeRoutes', id: R, add: [route('10.200.0.0/16', '10.0.0.9')], remove: [] }, admin)
      .thenThrows('L3.RoutesExhausted', /exceeds the maximum 256/);
    // a change that removes one as it adds one fits
    spec
      .given([created, added, routesSet(...full)])
      .when({ type: 'ChangeRoutes', id: R, add: [route('10.200.0.0/16', '10.0.0.9')], remove: full.slice(0, 1) }, admin)
      .then([routesSet(...full.slice(1), route('10.200.0.0/16', '10.0.0.9'))]);
  });

  const gateway = {
    networkId: 'ext',
    enableSnat: true,
    portId: 'gw1',
    fixedIps: [{ subnetId: 'es', ipAddress: '203.0.113.2' }],
    subnets: [{ subnetId: 'es', cidr: '203.0.113.0/24' }],
  };
  const gatewaySet: RouterEvent = { type: 'RouterGatewaySet', data: gateway };
  const attach = {
    type: 'AttachFloatingIp' as const,
    id: R,
    floatingIpId: 'f1',
    floatingNetworkId: 'ext',
    portId: 'vm',
    fixedIpAddress: '10.0.0.5',
    subnetId: 's1',
  };
  const attached: RouterEvent = { type: 'RouterFloatingIpAttached', data: { floatingIpId: 'f1', fixedIpAddress: '10.0.0.5', subnetId: 's1' } };

  it('creates a router with its gateway and routes through it in one event', () => {
    const attributes = { name: 'r', description: '', adminStateUp: true, ha: false, distributed: false, natExclusions: [] };
    const routes = [route('198.51.100.0/24', '203.0.113.1')];
    spec
      .given([])
      .when({ type: 'CreateRouter', id: R, projectId: 'project-a', attributes, gateway, routes })
      .then([{ type: 'RouterCreated', data: { projectId: 'project-a', ...attributes, gateway, routes } }]);
    spec
      .given([])
      .when({ type: 'CreateRouter', id: R, projectId: 'project-a', attributes, routes })
      .thenThrows('L3.BadRequest', /not connected/);
    const state = spec.given([{ type: 'RouterCreated', data: { projectId: 'project-a', ...attributes, gateway, routes } }]).state();
    expect([state.gateway?.portId, state.routes]).toEqual(['gw1', routes]);
  });

  it('records the floating IPs that go through it and keeps the gateway and interface they need', () => {
    spec.given([created, added, gatewaySet]).when(attach, admin).then([attached]);
    spec.given([created, added, gatewaySet, attached]).when(attach, admin).then([]);
    spec.given([created, added]).when(attach, admin).thenThrows('L3.ExternalGatewayForFloatingIPNotFound');
    spec
      .given([created, added, gatewaySet])
      .when({ ...attach, subnetId: 's9' }, admin)
      .thenThrows('L3.ExternalGatewayForFloatingIPNotFound');
    spec.given([created, added, gatewaySet, attached]).when({ type: 'ClearGateway', id: R }, admin).thenThrows('L3.RouterExternalGatewayInUseByFloatingIp');
    spec
      .given([created, added, gatewaySet, attached])
      .when({ type: 'SetGateway', id: R, ...gateway, networkId: 'ext2' }, admin)
      .thenThrows('L3.RouterExternalGatewayInUseByFloatingIp');
    spec
      .given([created, added, gatewaySet, attached])
      .when({ type: 'RemoveInterface', id: R, portId: 'p1' }, admin)
      .thenThrows('L3.RouterInterfaceInUseByFloatingIP');
    const detached: RouterEvent = { type: 'RouterFloatingIpDetached', data: { floatingIpId: 'f1' } };
    spec.given([created, added, gatewaySet, attached]).when({ type: 'DetachFloatingIp', id: R, floatingIpId: 'f1' }, admin).then([detached]);
    spec
      .given([created, added, gatewaySet, attached, detached])
      .when({ type: 'ClearGateway', id: R }, admin)
      .then([{ type: 'RouterGatewayCleared', data: { portId: 'gw1' } }]);
    // undoing is idempotent, also once the router is gone
    spec.given([created, added, gatewaySet, attached, detached]).when({ type: 'DetachFloatingIp', id: R, floatingIpId: 'f1' }, admin).then([]);
    spec.given([]).when({ type: 'DetachFloatingIp', id: R, floatingIpId: 'f1' }).then([]);
  });
});

describe('floating IP registry', () => {
  const spec = deciderSpec(l3RegistryDecider);
  const claimed = { type: 'FixedIpFloatingIpClaimed' as const, data: { portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f1' } };
  it('gives a fixed address at most one floating IP', () => {
    spec
      .given([claimed])
      .when({ type: 'ClaimFixedIp', portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f2', floatingIpAddress: '' })
      .thenThrows('L3.FloatingIPPortAlreadyAssociated');
    spec.given([claimed]).when({ type: 'ClaimFixedIp', portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f1', floatingIpAddress: '' }).then([]);
    spec.given([claimed]).when({ type: 'ReleaseFixedIp', portId: 'p', fixedIpAddress: '10.0.0.5', floatingIpId: 'f2' }).then([]);
  });
});
