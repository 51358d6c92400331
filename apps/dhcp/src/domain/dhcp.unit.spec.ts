import { describe, expect, it } from 'vitest';
import { DESIRED_KINDS, Naming, desiredKey, type RecordedEvent } from '@ncp/contracts';
import { deciderSpec } from '@ncp/testing';
import { dhcpPartitionOf, partitionsChangedBy, RA_PARTITION } from '../desired-state/intents';
import { placementMayChange } from '../application/servers';
import {
  defaultHostname,
  dhcpDeviceId,
  dhcpServerIntent,
  dhcpServerSettled,
  needsDhcpServer,
  raIntents,
  servedMode,
  subnetsMissingFromDhcpPort,
  type NetworkFacts,
  type PortFacts,
  type SubnetFacts,
} from './dhcp-intent';
import { dhcpServerDecider } from './server.decider';

const NET = '11111111-2222-4333-8444-555555555555';
const network: NetworkFacts = { id: NET, name: 'n1', mtu: 1450, networkType: 'vxlan', physicalNetwork: null };
const subnet = (id: string, over: Partial<SubnetFacts>): SubnetFacts => ({
  id,
  networkId: NET,
  ipVersion: 4,
  cidr: '10.0.0.0/24',
  gatewayIp: '10.0.0.1',
  enableDhcp: true,
  ipv6RaMode: null,
  ipv6AddressMode: null,
  dnsNameservers: [],
  hostRoutes: [],
  ...over,
});
const v4 = subnet('s4', { dnsNameservers: ['10.0.0.53', '2001:db8::53'], hostRoutes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.254' }] });
const stateful = subnet('s6f', {
  ipVersion: 6,
  cidr: '2001:db8:cafe:1::/64',
  gatewayIp: '2001:db8:cafe:1::1',
  ipv6RaMode: 'dhcpv6-stateful',
  ipv6AddressMode: 'dhcpv6-stateful',
});
const stateless = subnet('s6l', {
  ipVersion: 6,
  cidr: '2001:db8:cafe:a::/64',
  ipv6RaMode: 'dhcpv6-stateless',
  ipv6AddressMode: 'dhcpv6-stateless',
  dnsNameservers: ['2001:db8:cafe:a::e'],
});
const slaac = subnet('s6s', { ipVersion: 6, cidr: '2001:db8:0:1::/64', ipv6RaMode: 'slaac', ipv6AddressMode: 'slaac' });
const port = (id: string, over: Partial<PortFacts>): PortFacts => ({
  id,
  networkId: NET,
  macAddress: 'fa:16:3e:00:00:01',
  adminStateUp: true,
  deviceOwner: 'compute:nova',
  deviceId: 'vm',
  bindingHostId: 'h1',
  bindingProfile: {},
  fixedIps: [],
  extraDhcpOpts: [],
  ...over,
});
const settings = { domain: 'openstacklocal', leaseSeconds: 86400 };
const ra = { routerLifetime: 30, validLifetime: 86400, preferredLifetime: 14400, minInterval: 3, maxInterval: 10 };

describe('which subnets a DHCP server serves', () => {
  it('serves DHCPv4 and the two DHCPv6 address modes, not SLAAC, not disabled subnets', () => {
    expect(servedMode(v4)).toBe('dhcpv4');
    expect(servedMode(stateful)).toBe('dhcpv6-stateful');
    expect(servedMode(stateless)).toBe('dhcpv6-stateless');
    expect(servedMode(slaac)).toBeNull();
    expect(servedMode({ ...v4, enableDhcp: false })).toBeNull();
    // ra_mode unset with an address mode: an upstream router advertises, we still serve DHCPv6.
    expect(servedMode({ ...stateful, ipv6RaMode: null })).toBe('dhcpv6-stateful');
    expect(needsDhcpServer([slaac])).toBe(false);
    expect(needsDhcpServer([slaac, stateless])).toBe(true);
  });

  it('finds the served subnets the DHCP port has no address on', () => {
    expect(subnetsMissingFromDhcpPort([{ subnetId: 's4', ipAddress: '10.0.0.2' }], [v4, stateful, slaac])).toEqual(['s6f']);
    expect(subnetsMissingFromDhcpPort([], [slaac])).toEqual([]);
  });
});

describe('whether a placement pass has anything to do for a network', () => {
  const dhcpPort = port('p-dhcp', { deviceOwner: 'network:dhcp', deviceId: dhcpDeviceId(NET), fixedIps: [{ subnetId: 's4', ipAddress: '10.0.0.2' }] });
  const placed = { host: 'h1', pinned: false, portId: 'p-dhcp' };
  const alive = (host: string) => host === 'h1';
  const dead = () => false;

  it('is settled with a server on a live agent whose port is bound there with an address on every served subnet', () => {
    expect(dhcpServerSettled(NET, [v4, slaac], placed, [dhcpPort], alive)).toBe(true);
  });

  it('is not settled while the server has no host, no port, or a port not yet bound or recorded', () => {
    expect(dhcpServerSettled(NET, [v4], undefined, [], alive)).toBe(false);
    expect(dhcpServerSettled(NET, [v4], { ...placed, host: null }, [dhcpPort], alive)).toBe(false);
    expect(dhcpServerSettled(NET, [v4], { ...placed, portId: null }, [dhcpPort], alive)).toBe(false);
    expect(dhcpServerSettled(NET, [v4], placed, [], alive)).toBe(false);
    expect(dhcpServerSettled(NET, [v4], placed, [{ ...dhcpPort, bindingHostId: 'h2' }], alive)).toBe(false);
  });

  it('is not settled when a served subnet was added after the port, or the host died (unless pinned there)', () => {
    expect(dhcpServerSettled(NET, [v4, stateful], placed, [dhcpPort], alive)).toBe(false);
    expect(dhcpServerSettled(NET, [v4], placed, [dhcpPort], dead)).toBe(false);
    expect(dhcpServerSettled(NET, [v4], { ...placed, pinned: true }, [dhcpPort], dead)).toBe(true);
  });

  it('without a served subnet: settled with no server, or one withdrawn whose DHCP port is gone', () => {
    expect(dhcpServerSettled(NET, [slaac], undefined, [], alive)).toBe(true);
    expect(dhcpServerSettled(NET, [], { host: null, pinned: true, portId: null }, [], alive)).toBe(true);
    expect(dhcpServerSettled(NET, [slaac], placed, [dhcpPort], alive)).toBe(false);
    expect(dhcpServerSettled(NET, [slaac], { host: null, pinned: false, portId: null }, [dhcpPort], alive)).toBe(false);
  });
});

describe('DHCP server intent', () => {
  const dhcpPort = port('p-dhcp', {
    deviceOwner: 'network:dhcp',
    macAddress: 'fa:16:3e:00:00:02',
    fixedIps: [
      { subnetId: 's4', ipAddress: '10.0.0.2' },
      { subnetId: 's6f', ipAddress: '2001:db8:cafe:1::2' },
    ],
  });
  const vm = port('p-vm', {
    macAddress: 'FA:16:3E:AA:BB:CC',
    fixedIps: [
      { subnetId: 's6f', ipAddress: '2001:db8:cafe:1::4' },
      { subnetId: 's4', ipAddress: '10.0.0.10' },
      { subnetId: 's6l', ipAddress: '2001:db8:cafe:a:f816:3eff:feaa:bbcc' },
    ],
    extraDhcpOpts: [{ optName: 'tftp-server', optValue: '10.0.0.99', ipVersion: 4 }],
  });
  const routerPort = port('p-r', { deviceOwner: 'network:router_interface', fixedIps: [{ subnetId: 's6s', ipAddress: '2001:db8:0:1::1' }] });
  const intent = dhcpServerIntent(network, [v4, stateful, stateless, slaac], [vm, dhcpPort, routerPort], dhcpPort, settings);

  it('puts the DHCP port in qdhcp-<net8> with its addresses and the network MTU', () => {
    expect(intent).toMatchObject({
      networkId: NET,
      namespace: 'qdhcp-11111111',
      ifname: 'ns-11111111222',
      portId: 'p-dhcp',
      mtu: 1450,
      domain: 'openstacklocal',
      leaseSeconds: 86400,
    });
    expect(intent.addresses).toEqual(['10.0.0.2/24', '2001:db8:cafe:1::2/64']);
  });

  it('serves each subnet by its mode, with the DNS servers of its own IP version and IPv4 host routes', () => {
    expect(intent.subnets).toEqual([
      {
        id: 's4',
        mode: 'dhcpv4',
        cidr: '10.0.0.0/24',
        gatewayIp: '10.0.0.1',
        dnsNameservers: ['10.0.0.53'],
        // no router on s4: metadata through the DHCP port (isolated metadata)
        hostRoutes: [
          { destination: '192.168.0.0/16', nexthop: '10.0.0.254' },
          { destination: '169.254.169.254/32', nexthop: '10.0.0.2' },
        ],
      },
      { id: 's6f', mode: 'dhcpv6-stateful', cidr: '2001:db8:cafe:1::/64', gatewayIp: null, dnsNameservers: [], hostRoutes: [] },
      { id: 's6l', mode: 'dhcpv6-stateless', cidr: '2001:db8:cafe:a::/64', gatewayIp: null, dnsNameservers: ['2001:db8:cafe:a::e'], hostRoutes: [] },
    ]);
  });

  it('routes metadata through the DHCP port only on an IPv4 subnet without a router', () => {
    const routerOnV4 = port('p-r4', { deviceOwner: 'network:router_interface', fixedIps: [{ subnetId: 's4', ipAddress: '10.0.0.1' }] });
    const routed = dhcpServerIntent(network, [v4], [vm, dhcpPort, routerOnV4], dhcpPort, settings);
    expect(routed.subnets[0]?.hostRoutes).toEqual([{ destination: '192.168.0.0/16', nexthop: '10.0.0.254' }]);
  });

  it('gives static leases for DHCPv4 and stateful DHCPv6 addresses only, never to the DHCP port', () => {
    expect(intent.hosts).toEqual([
      {
        portId: 'p-vm',
        macAddress: 'fa:16:3e:aa:bb:cc',
        hostname: 'host-10-0-0-10',
        ipAddresses: ['2001:db8:cafe:1::4', '10.0.0.10'],
        extraOptions: [{ name: 'tftp-server', value: '10.0.0.99', ipVersion: 4 }],
      },
    ]);
  });

  it('names hosts after their first IPv4 address, else their first address', () => {
    expect(defaultHostname('10.0.0.10')).toBe('host-10-0-0-10');
    expect(defaultHostname('2001:db8::')).toBe('host-2001-db8');
  });
});

describe('router advertisements', () => {
  const iface = (id: string, ifname: string, fixedIps: PortFacts['fixedIps'], over: Partial<PortFacts> = {}) =>
    port(id, {
      deviceOwner: 'network:router_interface',
      deviceId: 'r1',
      bindingHostId: 'net-a1',
      bindingProfile: { netns: 'qrouter-r1', ifname },
      fixedIps,
      ...over,
    });
  const subnets = new Map(
    [stateful, stateless, slaac, v4, subnet('s6n', { ipVersion: 6, cidr: '2001:db8:9::/64', ipv6AddressMode: 'slaac' })].map((s) => [s.id, s]),
  );
  const networks = new Map([[NET, network]]);

  it("follows Neutron's matrix: SLAAC A; stateless A+O; stateful M+O without A; no RA without ra_mode", () => {
    const placed = raIntents(
      [
        iface('a', 'qr-a', [{ subnetId: 's6s', ipAddress: '2001:db8:0:1::1' }]),
        iface('b', 'qr-b', [{ subnetId: 's6l', ipAddress: '2001:db8:cafe:a::1' }], { macAddress: 'FA:16:3E:AB:CD:EF' }),
        iface('c', 'qr-c', [{ subnetId: 's6f', ipAddress: '2001:db8:cafe:1::1' }], { macAddress: '02:00:00:00:00:0c' }),
        iface('d', 'qr-d', [{ subnetId: 's6n', ipAddress: '2001:db8:9::1' }]),
        iface('e', 'qr-e', [{ subnetId: 's4', ipAddress: '10.0.0.1' }]),
      ],
      subnets,
      networks,
      ra,
    );
    expect(placed).toHaveLength(1);
    expect(placed[0]?.host).toBe('net-a1');
    expect(placed[0]?.intent).toEqual({
      routerId: 'r1',
      namespace: 'qrouter-r1',
      ...ra,
      interfaces: [
        // each advertises from its port's own link-local address: the EUI-64 of its MAC
        {
          ifname: 'qr-a',
          sourceAddress: 'fe80::f816:3eff:fe00:1',
          managed: false,
          otherConfig: false,
          mtu: 1450,
          prefixes: [{ cidr: '2001:db8:0:1::/64', autonomous: true }],
          rdnss: [],
        },
        {
          ifname: 'qr-b',
          sourceAddress: 'fe80::f816:3eff:feab:cdef',
          managed: false,
          otherConfig: true,
          mtu: 1450,
          prefixes: [{ cidr: '2001:db8:cafe:a::/64', autonomous: true }],
          rdnss: ['2001:db8:cafe:a::e'],
        },
        {
          ifname: 'qr-c',
          sourceAddress: 'fe80::ff:fe00:c',
          managed: true,
          otherConfig: true,
          mtu: 1450,
          prefixes: [{ cidr: '2001:db8:cafe:1::/64', autonomous: false }],
          rdnss: [],
        },
      ],
    });
  });

  it('advertises only from bound router interfaces that the L3 placement gave a namespace', () => {
    expect(raIntents([iface('a', 'qr-a', [{ subnetId: 's6s', ipAddress: '2001:db8:0:1::1' }], { bindingHostId: '' })], subnets, networks, ra)).toEqual([]);
    expect(raIntents([iface('a', 'qr-a', [{ subnetId: 's6s', ipAddress: '2001:db8:0:1::1' }], { bindingProfile: {} })], subnets, networks, ra)).toEqual([]);
    expect(
      raIntents([iface('a', 'qr-a', [{ subnetId: 's6s', ipAddress: '2001:db8:0:1::1' }], { deviceOwner: 'compute:nova' })], subnets, networks, ra),
    ).toEqual([]);
  });
});

describe('DHCP server decider', () => {
  const spec = deciderSpec(dhcpServerDecider);
  const scheduled = { type: 'DhcpServerScheduled' as const, data: { host: 'a1', row: 'row-a', pinned: false } };

  it('records a placement once, and a move to another host', () => {
    spec.given([]).when({ type: 'Schedule', host: 'a1', row: 'row-a', replacing: null }).then([scheduled]);
    spec.given([scheduled]).when({ type: 'Schedule', host: 'a1', row: 'row-a', replacing: 'a1' }).then([]);
    spec
      .given([scheduled])
      .when({ type: 'Schedule', host: 'b1', row: 'row-b', replacing: 'a1' })
      .then([{ type: 'DhcpServerScheduled', data: { host: 'b1', row: 'row-b', pinned: false } }]);
  });

  it('takes a placement only on the server as the placement saw it: never over a pin or another placement', () => {
    const pinned = { type: 'DhcpServerScheduled' as const, data: { host: 'c1', row: 'row-c', pinned: true } };
    // a pass that saw the server on a1 (dead) comes after an operator pinned it to c1
    spec.given([scheduled, pinned]).when({ type: 'Schedule', host: 'b1', row: 'row-b', replacing: 'a1' }).then([]);
    // two passes that saw it unplaced: the second one finds it placed already
    spec.given([scheduled]).when({ type: 'Schedule', host: 'b1', row: 'row-b', replacing: null }).then([]);
    // a pin always holds
    spec.given([scheduled]).when({ type: 'Pin', host: 'c1', row: 'row-c', agentId: 'agent-c1', networkId: 'n1' }).then([pinned]);
  });

  it('refuses a pin to the agent that already holds it, and an unpin from an agent that does not host the network', () => {
    const pinned = { type: 'DhcpServerScheduled' as const, data: { host: 'c1', row: 'row-c', pinned: true } };
    spec
      .given([pinned])
      .when({ type: 'Pin', host: 'c1', row: 'row-c', agentId: 'agent-c1', networkId: 'n1' })
      .thenThrows('DHCP.NetworkHostedByDHCPAgent', /already hosted by the DHCP Agent agent-c1/);
    // a placement on c1 is not a pin: pinning there records it
    spec
      .given([{ ...pinned, data: { ...pinned.data, pinned: false } }])
      .when({ type: 'Pin', host: 'c1', row: 'row-c', agentId: 'agent-c1', networkId: 'n1' })
      .then([pinned]);
    spec
      .given([pinned])
      .when({ type: 'Unpin', host: 'a1', agentId: 'agent-a1', networkId: 'n1' })
      .thenThrows('DHCP.NetworkNotHostedByDhcpAgent', /not hosted by the DHCP agent agent-a1/);
    spec
      .given([pinned])
      .when({ type: 'Unpin', host: 'c1', agentId: 'agent-c1', networkId: 'n1' })
      .then([{ type: 'DhcpServerUnscheduled', data: { host: 'c1', reason: 'removed from agent agent-c1' } }]);
  });

  it('keeps a pinned network on its agent when no subnet needs DHCP, giving up only its port', () => {
    const pinned = { type: 'DhcpServerScheduled' as const, data: { host: 'c1', row: 'row-c', pinned: true } };
    const assigned = { type: 'DhcpPortAssigned' as const, data: { portId: 'p1' } };
    spec
      .given([pinned, assigned])
      .when({ type: 'Withdraw', reason: 'no subnet with DHCP' })
      .then([{ type: 'DhcpPortReleased', data: { portId: 'p1' } }]);
    spec
      .given([pinned, assigned, { type: 'DhcpPortReleased', data: { portId: 'p1' } }])
      .when({ type: 'Withdraw', reason: 'no subnet with DHCP' })
      .then([]);
    spec.given([pinned]).when({ type: 'Withdraw', reason: 'no subnet with DHCP' }).then([]);
    spec
      .given([scheduled, assigned])
      .when({ type: 'Withdraw', reason: 'no subnet with DHCP' })
      .then([{ type: 'DhcpServerUnscheduled', data: { host: 'a1', reason: 'no subnet with DHCP' } }]);
    // a deleted network takes its pin with it
    spec
      .given([pinned, assigned])
      .when({ type: 'Unschedule', reason: 'network deleted' })
      .then([{ type: 'DhcpServerUnscheduled', data: { host: 'c1', reason: 'network deleted' } }]);
  });

  it('assigns the port once, takes status only while placed, and unschedules once', () => {
    const assigned = { type: 'DhcpPortAssigned' as const, data: { portId: 'p1' } };
    spec.given([scheduled, assigned]).when({ type: 'AssignPort', portId: 'p1' }).then([]);
    spec
      .given([scheduled])
      .when({ type: 'SetStatus', status: 'ACTIVE', reason: 'serving' })
      .then([{ type: 'DhcpServerStatusChanged', data: { status: 'ACTIVE', reason: 'serving' } }]);
    spec.given([]).when({ type: 'SetStatus', status: 'ACTIVE', reason: 'serving' }).then([]);
    spec
      .given([scheduled, assigned])
      .when({ type: 'Unschedule', reason: 'no subnet with DHCP' })
      .then([{ type: 'DhcpServerUnscheduled', data: { host: 'a1', reason: 'no subnet with DHCP' } }]);
    spec
      .given([scheduled, assigned, { type: 'DhcpServerUnscheduled', data: { host: 'a1', reason: 'x' } }])
      .when({ type: 'Unschedule', reason: 'again' })
      .then([]);
  });
});

describe('what a batch of events changes, for the DHCP servers, the RAs and the placement', () => {
  const naming = new Naming({ prefix: 'ncp' });
  const recorded = (context: string, aggregate: string, id: string, type = 'X', data: object = {}) =>
    ({ subject: naming.eventSubject(context, aggregate, id), sequence: 1, envelope: { type, data } }) as unknown as RecordedEvent;
  const portCreated = (network: string, deviceOwner: string, bindingHostId = '') =>
    recorded('ipam', 'network', network, 'PortCreated', { portId: 'p1', deviceOwner, bindingHostId });
  const status = (network: string) => recorded('ipam', 'network', network, 'PortStatusChanged', { portId: 'p1', status: 'ACTIVE' });

  it("names IPAM's networks and DHCP's servers by network, and gives up on anything else", () => {
    expect(partitionsChangedBy(naming, [portCreated('n1', 'compute:nova'), recorded('dhcp', 'server', 'n2'), status('n1')])).toEqual(new Set(['n1', 'n2']));
    expect(partitionsChangedBy(naming, [recorded('ipam', 'network', 'n1'), recorded('agent', 'agent', 'h1')])).toBeUndefined();
    expect(partitionsChangedBy(naming, [])).toEqual(new Set());
  });

  it('names the RAs for any IPAM event but a status or a port created for something other than a router', () => {
    expect(partitionsChangedBy(naming, [portCreated('n1', 'network:router_interface')])).toEqual(new Set(['n1', RA_PARTITION]));
    expect(partitionsChangedBy(naming, [portCreated('n1', '')])).toEqual(new Set(['n1']));
    for (const type of ['PortUpdated', 'PortDeleted', 'SubnetCreated', 'SubnetUpdated', 'NetworkUpdated'])
      expect(partitionsChangedBy(naming, [recorded('ipam', 'network', 'n1', type)])).toEqual(new Set(['n1', RA_PARTITION]));
  });

  it("partitions DHCP servers' entries by network, and every RA in one partition of their own", () => {
    expect(dhcpPartitionOf(desiredKey('row-a', 'h1', DESIRED_KINDS.dhcp, 'n1'))).toBe('n1');
    expect(dhcpPartitionOf(desiredKey('row-a', 'h1', DESIRED_KINDS.ra, 'r1'))).toBe(RA_PARTITION);
  });

  it('runs the placement for anything but statuses and ports created unbound for something other than DHCP', () => {
    expect(placementMayChange(naming, [portCreated('n1', 'compute:nova'), portCreated('n1', ''), status('n1')])).toBe(false);
    expect(placementMayChange(naming, [])).toBe(false);
    expect(placementMayChange(naming, [portCreated('n1', 'network:dhcp')])).toBe(true);
    expect(placementMayChange(naming, [portCreated('n1', 'compute:nova', 'h1')])).toBe(true);
    for (const type of ['PortUpdated', 'PortDeleted', 'SubnetCreated', 'NetworkDeleted'])
      expect(placementMayChange(naming, [status('n1'), recorded('ipam', 'network', 'n1', type)])).toBe(true);
    expect(placementMayChange(naming, [recorded('dhcp', 'server', 'n1')])).toBe(true);
    expect(placementMayChange(naming, [recorded('agent', 'agent', 'h1')])).toBe(true);
  });
});
