import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { type NetworkEvent } from '@ncp/contracts';
import { NET, mtuPolicy, networkCreated, portCreated, portRequest, subnetCreated, subnetRequest, vxlan } from './__fixtures__/ipam';
import { networkDecider, type PortRequest, type PortUpdate } from './network.decider';
import { PortGroupsQuestion, type PortGroupFacts } from './port-security';
import { networkFromJson, networkToJson } from './network.state';

const spec = deciderSpec(networkDecider);
const DEFAULT_SG = 'sg-default-a';
const DEFAULT_ASKED: PortGroupFacts = { confirmed: [], defaultSecurityGroupId: DEFAULT_SG };
const admin = { isAdmin: true };

describe('network decider: networks', () => {
  it('creates a VXLAN network with the MTU its encapsulation leaves', () => {
    const [event] = spec
      .given([])
      .when({
        type: 'CreateNetwork',
        id: NET,
        projectId: 'project-a',
        attributes: { name: 'n', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true },
        segment: vxlan(100),
        mtuPolicy,
      })
      .events();
    expect(event?.type === 'NetworkCreated' && event.data.mtu).toBe(1450);
  });

  it('refuses an MTU above what the network type allows', () => {
    spec
      .given([])
      .when({
        type: 'CreateNetwork',
        id: NET,
        projectId: 'p',
        attributes: { name: '', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true },
        mtu: 1500,
        segment: vxlan(100),
        mtuPolicy,
      })
      .thenThrows('IPAM.InvalidInput', /maximum is 1450/);
  });

  it("hides another project's network and refuses to delete one with ports", () => {
    const given = [
      networkCreated(),
      subnetCreated('s4', '10.0.0.0/24', { allocationPools: [{ start: '10.0.0.2', end: '10.0.0.254' }] }),
      portCreated('p1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.2' }]),
    ];
    spec.given(given).when({ type: 'DeleteNetwork', id: NET }, { projectId: 'project-b' }).thenThrows('IPAM.NetworkNotFound');
    spec.given(given).when({ type: 'DeleteNetwork', id: NET }).thenThrows('IPAM.NetworkInUse');
  });

  it('deletes a network along with its subnets and DHCP ports', () => {
    spec
      .given([
        networkCreated(),
        subnetCreated('s4', '10.0.0.0/24'),
        portCreated('dhcp', 'fa:16:3e:00:00:09', [{ subnetId: 's4', ipAddress: '10.0.0.2' }], 'network:dhcp'),
      ])
      .when({ type: 'DeleteNetwork', id: NET })
      .then([{ type: 'NetworkDeleted', data: { subnets: [{ subnetId: 's4', cidr: '10.0.0.0/24', subnetPoolId: null }], portIds: ['dhcp'] } }]);
  });

  it('honours If-Match revision numbers', () => {
    spec
      .given([networkCreated()])
      .when({ type: 'UpdateNetwork', id: NET, changes: { name: 'x' }, expectedRevision: 7, mtuPolicy })
      .thenThrows('IPAM.RevisionNumberConstraintFailed');
    spec
      .given([networkCreated()])
      .when({ type: 'UpdateNetwork', id: NET, changes: { name: 'x' }, expectedRevision: 1, mtuPolicy })
      .then([{ type: 'NetworkUpdated', data: { changes: { name: 'x' } } }]);
  });

  it('refuses to unshare a network other projects have ports on', () => {
    const foreignPort = portCreated('p1', 'fa:16:3e:00:00:01', []);
    const foreign = { ...foreignPort, data: { ...foreignPort.data, projectId: 'project-b' } } as NetworkEvent;
    spec
      .given([networkCreated({ shared: true }), foreign])
      .when({ type: 'UpdateNetwork', id: NET, changes: { shared: false }, mtuPolicy })
      .thenThrows('IPAM.InvalidSharedSetting');
  });
});

describe('network decider: subnets', () => {
  const create = (cidr: string, overrides: Parameters<typeof subnetRequest>[1] = {}) => ({
    type: 'CreateSubnet' as const,
    id: NET,
    subnetId: 'new',
    projectId: 'project-a',
    request: subnetRequest(cidr, overrides),
  });

  it('applies Neutron defaults: first host as gateway, the rest as the pool', () => {
    const [e] = spec.given([networkCreated()]).when(create('192.168.81.64/26')).events();
    expect(e?.type === 'SubnetCreated' && [e.data.gatewayIp, e.data.allocationPools]).toEqual([
      '192.168.81.65',
      [{ start: '192.168.81.66', end: '192.168.81.126' }],
    ]);
  });

  it('accepts a null gateway, giving the pool every usable address', () => {
    const [e] = spec
      .given([networkCreated()])
      .when(create('10.9.0.0/29', { gatewayIp: null }))
      .events();
    expect(e?.type === 'SubnetCreated' && e.data.allocationPools).toEqual([{ start: '10.9.0.1', end: '10.9.0.6' }]);
  });

  it('refuses overlapping subnets on one network', () => {
    spec
      .given([networkCreated(), subnetCreated('s1', '10.0.0.0/16')])
      .when(create('10.0.5.0/24'))
      .thenThrows('IPAM.InvalidInput', /overlaps/);
  });

  it('refuses subnets of one family in different address scopes', () => {
    spec
      .given([networkCreated(), subnetCreated('s1', '10.0.0.0/24', { addressScopeId: 'scope-1' })])
      .when(create('10.1.0.0/24', { addressScopeId: 'scope-2' }))
      .thenThrows('IPAM.BadRequest', /share an address scope/);
    // Another family may live in another scope.
    expect(
      spec
        .given([networkCreated(), subnetCreated('s1', '10.0.0.0/24', { addressScopeId: 'scope-1' })])
        .when(create('2001:db8::/64'))
        .events(),
    ).toHaveLength(1);
  });

  it('checks gateway and pools against the cidr and each other', () => {
    const given = spec.given([networkCreated()]);
    given.when(create('10.0.0.0/24', { gatewayIp: '10.0.1.1' })).thenThrows('IPAM.InvalidInput', /Gateway is not valid/);
    given
      .when(create('10.0.0.0/24', { gatewayIp: '10.0.0.5', allocationPools: [{ start: '10.0.0.2', end: '10.0.0.10' }] }))
      .thenThrows('IPAM.GatewayConflictWithAllocationPools');
    given
      .when(
        create('10.0.0.0/24', {
          allocationPools: [
            { start: '10.0.0.2', end: '10.0.0.10' },
            { start: '10.0.0.9', end: '10.0.0.20' },
          ],
        }),
      )
      .thenThrows('IPAM.BadRequest', /overlapping/);
    given.when(create('10.0.0.0/24', { allocationPools: [{ start: '10.0.0.200', end: '10.0.1.5' }] })).thenThrows('IPAM.BadRequest', /spans beyond/);
    given.when(create('10.0.0.5/24')).thenThrows('IPAM.BadRequest', /'10.0.0.0\/24' is recommended/);
  });

  it("follows Neutron's ipv6_ra_mode x ipv6_address_mode matrix", () => {
    const given = spec.given([networkCreated()]);
    given.when(create('2001:db8::/64', { ipv6RaMode: 'slaac', ipv6AddressMode: 'dhcpv6-stateful' })).thenThrows('IPAM.InvalidInput', /must be the same value/);
    given.when(create('10.0.0.0/24', { ipv6AddressMode: 'slaac' })).thenThrows('IPAM.InvalidInput', /ip_version 4/);
    given.when(create('2001:db8::/80', { ipv6AddressMode: 'slaac' })).thenThrows('IPAM.InvalidInput', /EUI-64/);
    for (const [ra, address] of [
      ['slaac', 'slaac'],
      ['dhcpv6-stateful', 'dhcpv6-stateful'],
      ['dhcpv6-stateless', 'dhcpv6-stateless'],
      [null, 'slaac'],
      ['slaac', null],
    ] as const) {
      expect(given.when(create('2001:db8::/64', { ipv6RaMode: ra, ipv6AddressMode: address })).events()).toHaveLength(1);
    }
  });

  it('gives existing ports their EUI-64 address on a new SLAAC subnet', () => {
    const [e] = spec
      .given([networkCreated(), portCreated('p1', 'fa:16:3e:11:11:11', []), portCreated('r1', 'fa:16:3e:22:22:22', [], 'network:router_interface')])
      .when(create('2001:db8:0:1::/64', { ipv6RaMode: 'slaac', ipv6AddressMode: 'slaac' }))
      .events();
    expect(e?.type === 'SubnetCreated' && e.data.autoAddresses).toEqual([{ portId: 'p1', ipAddress: '2001:db8:0:1:f816:3eff:fe11:1111' }]);
  });

  it('refuses to delete a subnet whose addresses ports hold, except SLAAC and DHCP ones', () => {
    spec
      .given([networkCreated(), subnetCreated('s4', '10.0.0.0/24'), portCreated('p1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.3' }])])
      .when({ type: 'DeleteSubnet', id: NET, subnetId: 's4' })
      .thenThrows('IPAM.SubnetInUse');
    spec
      .given([
        networkCreated(),
        subnetCreated('s6', '2001:db8::/64', { ipv6AddressMode: 'slaac', ipv6RaMode: 'slaac' }),
        portCreated('p1', 'fa:16:3e:11:11:11', [{ subnetId: 's6', ipAddress: '2001:db8::f816:3eff:fe11:1111' }]),
      ])
      .when({ type: 'DeleteSubnet', id: NET, subnetId: 's6' })
      .then([{ type: 'SubnetDeleted', data: { subnetId: 's6', cidr: '2001:db8::/64', subnetPoolId: null } }]);
  });
});

describe('network decider: ports', () => {
  const v4 = subnetCreated('s4', '10.0.0.0/29', { gatewayIp: '10.0.0.1', allocationPools: [{ start: '10.0.0.2', end: '10.0.0.4' }] });
  const v6 = subnetCreated('s6', '2001:db8:0:1::/64', { ipv6RaMode: 'slaac', ipv6AddressMode: 'slaac', gatewayIp: '2001:db8:0:1::1' });
  // as the port commands send it after asking the security groups service for the default group
  const createPort = (
    portId: string,
    request: Partial<typeof portRequest> & Record<string, unknown> = {},
    groups: PortGroupFacts | undefined = DEFAULT_ASKED,
  ) => ({
    type: 'CreatePort' as const,
    id: NET,
    portId,
    projectId: 'project-a',
    macPrefix: 'fa:16:3e',
    request: { ...portRequest, ...request },
    groups,
  });

  it('gives an automatic port one IPv4 address and its EUI-64 address (the reference example)', () => {
    const [e] = spec
      .given([networkCreated(), v4, v6])
      .when(createPort('p1', { macAddress: 'FA:16:3E:11:11:11' }))
      .events();
    expect(e?.type === 'PortCreated' && [e.data.macAddress, e.data.fixedIps]).toEqual([
      'fa:16:3e:11:11:11',
      [
        { subnetId: 's4', ipAddress: '10.0.0.2' },
        { subnetId: 's6', ipAddress: '2001:db8:0:1:f816:3eff:fe11:1111' },
      ],
    ]);
  });

  it('allocates the lowest free address and answers exhaustion with a 409', () => {
    const events: NetworkEvent[] = [networkCreated(), v4];
    for (const [i, expected] of ['10.0.0.2', '10.0.0.3', '10.0.0.4'].entries()) {
      const [e] = spec
        .given(events)
        .when(createPort(`p${i}`))
        .events();
      expect(e?.type === 'PortCreated' && e.data.fixedIps[0]?.ipAddress).toBe(expected);
      if (e) events.push(e);
    }
    spec
      .given(events)
      .when(createPort('px'))
      .thenThrows('IPAM.IpAddressGenerationFailure', /No more IP addresses available on network net-1/);
    // Releasing an address makes it the next one handed out.
    events.push({ type: 'PortDeleted', data: { portId: 'p1', fixedIps: [{ subnetId: 's4', ipAddress: '10.0.0.3' }] } });
    const [again] = spec.given(events).when(createPort('py')).events();
    expect(again?.type === 'PortCreated' && again.data.fixedIps[0]?.ipAddress).toBe('10.0.0.3');
  });

  it('takes explicit addresses, refusing ones in use, on SLAAC subnets, or outside the subnet', () => {
    const given = spec.given([networkCreated(), v4, v6, portCreated('p1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.2' }])]);
    given.when(createPort('p2', { fixedIps: [{ ipAddress: '10.0.0.2' }] })).thenThrows('IPAM.IpAddressAlreadyAllocated');
    given.when(createPort('p2', { fixedIps: [{ subnetId: 's6', ipAddress: '2001:db8:0:1::99' }] })).thenThrows('IPAM.InvalidInput', /automatic addresses/);
    given
      .when(createPort('p2', { fixedIps: [{ subnetId: 's4', ipAddress: '10.0.1.9' }] }))
      .thenThrows('IPAM.BadRequest', /not a valid IP for the specified subnet/);
    given.when(createPort('p2', { fixedIps: [{ ipAddress: '192.0.2.1' }] })).thenThrows('IPAM.BadRequest', /any of the subnets/);
    given.when(createPort('p2', { fixedIps: [{ subnetId: 'nope' }] })).thenThrows('IPAM.InvalidInput', /invalid subnet nope/);
    // The gateway address may be taken explicitly (a port later attached to a router).
    expect(given.when(createPort('p2', { fixedIps: [{ ipAddress: '10.0.0.1' }] })).events()).toHaveLength(1);
    // Outside the allocation pool but inside the cidr is fine, and SLAAC is still added.
    const [e] = given.when(createPort('p2', { macAddress: 'fa:16:3e:00:00:02', fixedIps: [{ ipAddress: '10.0.0.6' }] })).events();
    expect(e?.type === 'PortCreated' && e.data.fixedIps.map((f) => f.ipAddress)).toEqual(['10.0.0.6', '2001:db8:0:1:f816:3eff:fe00:2']);
  });

  it('refuses a MAC already on the network and generates unique ones with the prefix', () => {
    const given = spec.given([networkCreated(), portCreated('p1', 'fa:16:3e:00:00:01', [])]);
    given.when(createPort('p2', { macAddress: 'fa:16:3e:00:00:01', fixedIps: [] })).thenThrows('IPAM.MacAddressInUse');
    given.when(createPort('p2', { macAddress: '01:00:5e:00:00:01', fixedIps: [] })).thenThrows('IPAM.BadRequest', /not a valid MAC/);
    const [a] = given.when(createPort('p2', { fixedIps: [] })).events();
    const [b] = given.when(createPort('p2', { fixedIps: [] })).events();
    const mac = a?.type === 'PortCreated' ? a.data.macAddress : '';
    expect(mac).toMatch(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    expect(b?.type === 'PortCreated' && b.data.macAddress).toBe(mac);
  });

  it('updates fixed IPs, keeping what stays and releasing what goes', () => {
    const given = spec.given([networkCreated(), v4, portCreated('p1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.2' }])]);
    given.when({ type: 'UpdatePort', id: NET, portId: 'p1', changes: { fixedIps: [{ subnetId: 's4' }, { ipAddress: '10.0.0.4' }] } }).then([
      {
        type: 'PortUpdated',
        data: {
          portId: 'p1',
          changes: {
            fixedIps: [
              { subnetId: 's4', ipAddress: '10.0.0.2' },
              { subnetId: 's4', ipAddress: '10.0.0.4' },
            ],
          },
        },
      },
    ]);
  });

  it('re-derives SLAAC addresses when the MAC changes', () => {
    spec
      .given([networkCreated(), v6, portCreated('p1', 'fa:16:3e:11:11:11', [{ subnetId: 's6', ipAddress: '2001:db8:0:1:f816:3eff:fe11:1111' }])])
      .when({ type: 'UpdatePort', id: NET, portId: 'p1', changes: { macAddress: 'fa:16:3e:22:22:22' } }, admin)
      .then([
        {
          type: 'PortUpdated',
          data: { portId: 'p1', changes: { macAddress: 'fa:16:3e:22:22:22', fixedIps: [{ subnetId: 's6', ipAddress: '2001:db8:0:1:f816:3eff:fe22:2222' }] } },
        },
      ]);
  });

  it("keeps router and floating IP ports away from the port API's delete", () => {
    for (const owner of ['network:router_interface', 'network:router_gateway', 'network:floatingip']) {
      const given = spec.given([networkCreated(), v4, portCreated('r1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.1' }], owner)]);
      given.when({ type: 'DeletePort', id: NET, portId: 'r1' }).thenThrows('IPAM.ServicePortInUse');
      expect(given.when({ type: 'DeletePort', id: NET, portId: 'r1', force: true }, admin).events()).toHaveLength(1);
    }
  });

  it("answers another project's subnet or port as not found, naming nothing but it", () => {
    const given = spec.given([networkCreated(), v4, portCreated('p1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.2' }])]);
    const b = { projectId: 'project-b' };
    const refusals = [
      given.when({ type: 'UpdateSubnet', id: NET, subnetId: 's4', changes: { name: 'x' } }, b),
      given.when({ type: 'DeleteSubnet', id: NET, subnetId: 's4' }, b),
      given.when({ type: 'UpdatePort', id: NET, portId: 'p1', changes: { name: 'x' } }, b),
      given.when({ type: 'DeletePort', id: NET, portId: 'p1' }, b),
    ];
    const errors = refusals.map((r) => {
      try {
        r.events();
        return 'accepted';
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
    });
    expect(errors).toEqual([
      'IPAM.SubnetNotFound: Subnet s4 could not be found.',
      'IPAM.SubnetNotFound: Subnet s4 could not be found.',
      'IPAM.PortNotFound: Port p1 could not be found.',
      'IPAM.PortNotFound: Port p1 could not be found.',
    ]);
    expect(errors.join()).not.toContain(NET);
  });

  it("keeps a shared network's addresses, MACs and network: owners to its owner (Neutron's port policy)", () => {
    const shared = spec.given([networkCreated({ shared: true }), v4]);
    const b = { projectId: 'project-b' };
    const asB = (request: Record<string, unknown>) => ({ ...createPort('pb', request), projectId: 'project-b' });
    shared.when(asB({ fixedIps: [{ ipAddress: '10.0.0.1' }] }), b).thenThrows('IPAM.PolicyNotAuthorized', /fixed_ips:ip_address/);
    shared.when(asB({ macAddress: 'fa:16:3e:00:00:42' }), b).thenThrows('IPAM.PolicyNotAuthorized', /mac_address/);
    shared.when(asB({ deviceOwner: 'network:router_interface' }), b).thenThrows('IPAM.PolicyNotAuthorized', /device_owner/);
    // by subnet, and for a workload: the network gives the address
    expect(shared.when(asB({ fixedIps: [{ subnetId: 's4' }], deviceOwner: 'compute:nova' }), b).events()).toHaveLength(1);
    expect(shared.when(createPort('pa', { fixedIps: [{ ipAddress: '10.0.0.1' }] })).events()).toHaveLength(1);
  });

  it("decides by Neutron's roles: a reader changes nothing it sees, a shared network is its owner's to change, a network's owner may delete ports on it", () => {
    const given = [networkCreated({ shared: true }), v4, portCreated('p1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.2' }])];
    const reader = { projectId: 'project-a', roles: ['reader'] };
    const b = { projectId: 'project-b', roles: ['member', 'reader'] };
    const net = spec.given(given);
    net.when({ type: 'UpdateNetwork', id: NET, changes: { name: 'x' }, mtuPolicy }, reader).thenThrows('IPAM.PolicyNotAuthorized', /^rule:update_network is/);
    net.when({ type: 'DeletePort', id: NET, portId: 'p1' }, reader).thenThrows('IPAM.PolicyNotAuthorized', /^rule:delete_port is/);
    net.when(createPort('pr', {}), reader).thenThrows('IPAM.PolicyNotAuthorized', /^rule:create_port is/);
    // B sees the shared network (and may have a port on it) but may not change or delete it
    net.when({ type: 'UpdateNetwork', id: NET, changes: { name: 'x' }, mtuPolicy }, b).thenThrows('IPAM.PolicyNotAuthorized', /^rule:update_network is/);
    net.when({ type: 'DeleteNetwork', id: NET }, b).thenThrows('IPAM.PolicyNotAuthorized', /^rule:delete_network is/);
    net.when({ type: 'DeletePort', id: NET, portId: 'p1' }, b).thenThrows('IPAM.PortNotFound');
    // the network's owner may delete B's port on it (delete_port: member and network owner)
    const portOfB = portCreated('pb', 'fa:16:3e:00:00:02', [{ subnetId: 's4', ipAddress: '10.0.0.3' }]);
    const withB = spec.given([...given, { ...portOfB, data: { ...portOfB.data, projectId: 'project-b' } } as NetworkEvent]);
    expect(withB.when({ type: 'DeletePort', id: NET, portId: 'pb' }).events()).toHaveLength(1);
    // and B may not update its own port's MAC (update_port:mac_address: admin, service, or the network's manager)
    withB
      .when({ type: 'UpdatePort', id: NET, portId: 'pb', changes: { macAddress: 'fa:16:3e:00:00:09' } }, b)
      .thenThrows('IPAM.PolicyNotAuthorized', /mac_address/);
  });

  it('survives a snapshot round trip with the same decisions', () => {
    const events: NetworkEvent[] = [networkCreated(), v4, v6, portCreated('p1', 'fa:16:3e:00:00:01', [{ subnetId: 's4', ipAddress: '10.0.0.2' }])];
    const state = spec.given(events).state();
    const restored = networkFromJson(JSON.parse(JSON.stringify(networkToJson(state))));
    const command = createPort('p2', { macAddress: 'fa:16:3e:00:00:02' });
    const meta = { now: 't', correlationId: 'c', causationId: null, projectId: 'project-a', actor: 'a', isAdmin: false };
    expect(networkDecider.decide(command, restored, meta)).toEqual(networkDecider.decide(command, state, meta));
  });

  it("takes agents' status reports only from the host the port is bound to, and only when they change", () => {
    const bound = portCreated('p1', 'fa:16:3e:00:00:01', []);
    const onA = { ...bound, data: { ...bound.data, bindingHostId: 'host-a1' } } as NetworkEvent;
    const given = spec.given([networkCreated(), onA]);
    const report = (host: string, status: 'ACTIVE' | 'DOWN') => ({ type: 'SetPortStatus' as const, id: NET, portId: 'p1', host, status, reason: 'r' });
    given.when(report('host-a1', 'ACTIVE'), admin).then([{ type: 'PortStatusChanged', data: { portId: 'p1', status: 'ACTIVE', reason: 'r' } }]);
    given.when(report('host-b1', 'ACTIVE'), admin).then([]);
    given.when(report('host-a1', 'DOWN'), admin).then([]);
    spec.given([networkCreated()]).when(report('host-a1', 'ACTIVE'), admin).then([]);
  });

  it("holds a plugged port in BUILD until its network's DHCP server confirms it (the DHCP provisioning block)", () => {
    const bound = (id: string, mac: string, ip: string, host: string, deviceOwner = '') => {
      const e = portCreated(id, mac, [{ subnetId: 's4', ipAddress: ip }], deviceOwner);
      return { ...e, data: { ...e.data, bindingHostId: host } } as NetworkEvent;
    };
    const dhcpPort = bound('pd', 'fa:16:3e:00:00:0d', '10.0.0.2', 'net-a1', 'network:dhcp');
    const vm = bound('p1', 'fa:16:3e:00:00:01', '10.0.0.3', 'host-a1');
    const plugged = { type: 'SetPortStatus' as const, id: NET, portId: 'p1', host: 'host-a1', status: 'ACTIVE' as const, reason: 'plugged' };
    const confirm = (host: string) => ({ type: 'ConfirmPortDhcp' as const, id: NET, portId: 'p1', host });
    const build: NetworkEvent = { type: 'PortStatusChanged', data: { portId: 'p1', status: 'BUILD', reason: 'plugged; waiting for its DHCP server' } };
    spec.given([networkCreated(), v4, dhcpPort, vm]).when(plugged, admin).then([build]);
    // Only the DHCP server's host speaks for it; its word lifts the block and the port goes ACTIVE.
    spec.given([networkCreated(), v4, dhcpPort, vm, build]).when(confirm('host-a1'), admin).then([]);
    spec
      .given([networkCreated(), v4, dhcpPort, vm, build])
      .when(confirm('net-a1'), admin)
      .then([{ type: 'PortStatusChanged', data: { portId: 'p1', status: 'ACTIVE', reason: 'plugged; in its DHCP server', dhcpProvisioned: true } }]);
    // Confirmed before it was plugged: the plug makes it ACTIVE at once.
    const early: NetworkEvent = {
      type: 'PortStatusChanged',
      data: { portId: 'p1', status: 'DOWN', reason: 'plugged; in its DHCP server', dhcpProvisioned: true },
    };
    spec.given([networkCreated(), v4, dhcpPort, vm]).when(confirm('net-a1'), admin).then([early]);
    spec
      .given([networkCreated(), v4, dhcpPort, vm, early])
      .when(plugged, admin)
      .then([{ type: 'PortStatusChanged', data: { portId: 'p1', status: 'ACTIVE', reason: 'plugged' } }]);
    // A new MAC must be confirmed again.
    const remac: NetworkEvent = { type: 'PortUpdated', data: { portId: 'p1', changes: { macAddress: 'fa:16:3e:00:00:09' } } };
    const down: NetworkEvent = { type: 'PortStatusChanged', data: { portId: 'p1', status: 'DOWN', reason: 'unplugged' } };
    spec.given([networkCreated(), v4, dhcpPort, vm, early, remac, down]).when(plugged, admin).then([build]);
    // No DHCP server on the network, or DHCP off on the subnet: no block.
    spec
      .given([networkCreated(), v4, vm])
      .when(plugged, admin)
      .then([{ type: 'PortStatusChanged', data: { portId: 'p1', status: 'ACTIVE', reason: 'plugged' } }]);
    const noDhcp = subnetCreated('s4', '10.0.0.0/29', { gatewayIp: '10.0.0.1', enableDhcp: false, allocationPools: [{ start: '10.0.0.2', end: '10.0.0.4' }] });
    spec
      .given([networkCreated(), noDhcp, dhcpPort, vm])
      .when(plugged, admin)
      .then([{ type: 'PortStatusChanged', data: { portId: 'p1', status: 'ACTIVE', reason: 'plugged' } }]);
  });

  it('puts a port DOWN when it moves to another host', () => {
    const bound = portCreated('p1', 'fa:16:3e:00:00:01', []);
    const onA = { ...bound, data: { ...bound.data, bindingHostId: 'host-a1' } } as NetworkEvent;
    const active: NetworkEvent = { type: 'PortStatusChanged', data: { portId: 'p1', status: 'ACTIVE', reason: 'plugged' } };
    spec
      .given([networkCreated(), onA, active])
      .when({ type: 'UpdatePort', id: NET, portId: 'p1', changes: { bindingHostId: 'host-b1' } }, admin)
      .then([{ type: 'PortUpdated', data: { portId: 'p1', changes: { bindingHostId: 'host-b1', status: 'DOWN' } } }]);
  });

  it('merges extra DHCP options by name and IP version; a null value removes one', () => {
    const opts = [
      { optName: 'tftp-server', optValue: '10.0.0.99', ipVersion: 4 as const },
      { optName: 'bootfile-name', optValue: 'pxelinux.0', ipVersion: 4 as const },
    ];
    const created = portCreated('p1', 'fa:16:3e:00:00:01', []);
    const withOpts = { ...created, data: { ...created.data, extraDhcpOpts: opts } } as NetworkEvent;
    spec
      .given([networkCreated(), withOpts])
      .when({
        type: 'UpdatePort',
        id: NET,
        portId: 'p1',
        changes: {
          extraDhcpOpts: [
            { optName: 'tftp-server', optValue: '10.0.0.98', ipVersion: 4 },
            { optName: 'bootfile-name', optValue: null, ipVersion: 4 },
            { optName: 'dns-server', optValue: '[2001:db8::53]', ipVersion: 6 },
          ],
        },
      })
      .then([
        {
          type: 'PortUpdated',
          data: {
            portId: 'p1',
            changes: {
              extraDhcpOpts: [
                { optName: 'tftp-server', optValue: '10.0.0.98', ipVersion: 4 },
                { optName: 'dns-server', optValue: '[2001:db8::53]', ipVersion: 6 },
              ],
            },
          },
        },
      ]);
    const twice = [
      { optName: 'tftp-server', optValue: '10.0.0.1', ipVersion: 4 as const },
      { optName: 'tftp-server', optValue: '10.0.0.2', ipVersion: 4 as const },
    ];
    spec
      .given([networkCreated(), withOpts])
      .when({ type: 'UpdatePort', id: NET, portId: 'p1', changes: { extraDhcpOpts: twice } })
      .thenThrows('IPAM.BadRequest', /Duplicate/);
    spec
      .given([networkCreated()])
      .when(createPort('p2', { extraDhcpOpts: [{ optName: 'x', optValue: 'a\nb', ipVersion: 4 }] }), admin)
      .thenThrows('IPAM.BadRequest', /control characters/);
  });
});

describe('network decider: port security and security groups (Neutron semantics)', () => {
  const v4 = subnetCreated('s4', '10.0.0.0/24', { gatewayIp: '10.0.0.1', allocationPools: [{ start: '10.0.0.2', end: '10.0.0.254' }] });
  const create = (request: Partial<PortRequest> = {}, groups?: PortGroupFacts) => ({
    type: 'CreatePort' as const,
    id: NET,
    portId: 'p9',
    projectId: 'project-a',
    macPrefix: 'fa:16:3e',
    request: { ...portRequest, ...request },
    groups,
  });
  const update = (changes: PortUpdate, groups?: PortGroupFacts) => ({ type: 'UpdatePort' as const, id: NET, portId: 'p1', changes, groups });
  const created = (given: NetworkEvent[], command: ReturnType<typeof create>) => {
    const [e] = spec.given(given).when(command).events();
    if (e?.type !== 'PortCreated') throw new Error('no port created');
    return e.data;
  };
  const security = (d: { portSecurityEnabled: boolean; securityGroups: string[] }) => [d.portSecurityEnabled, d.securityGroups];
  /** A port on v4 (10.0.0.2) with its own port security, groups and address pairs. */
  const port = (p: { portSecurityEnabled?: boolean; securityGroups?: string[]; pairs?: number; fixedIps?: { subnetId: string; ipAddress: string }[] } = {}) => {
    const e = portCreated('p1', 'fa:16:3e:00:00:01', p.fixedIps ?? [{ subnetId: 's4', ipAddress: '10.0.0.2' }]);
    const pairs = Array.from({ length: p.pairs ?? 0 }, (_, i) => ({ ipAddress: `10.9.0.${i + 1}`, macAddress: 'fa:16:3e:00:00:01' }));
    return {
      ...e,
      data: { ...e.data, portSecurityEnabled: p.portSecurityEnabled ?? true, securityGroups: p.securityGroups ?? [], allowedAddressPairs: pairs },
    } as NetworkEvent;
  };
  /** The question the decider needs answered before it can decide. */
  const questionOf = (given: NetworkEvent[], command: ReturnType<typeof create> | ReturnType<typeof update>, meta = {}) => {
    try {
      spec.given(given).when(command, meta).events();
    } catch (e) {
      if (e instanceof PortGroupsQuestion) return e.question;
      throw e;
    }
    throw new Error('decided without asking');
  };
  const refusal = (given: NetworkEvent[], command: ReturnType<typeof create> | ReturnType<typeof update>, code: string) => {
    const e = spec.given(given).when(command).thenThrows(code);
    return [e.kind, e.message];
  };
  const SG_REQUIRED = ['validation', 'Port security must be enabled and port must have an IP address in order to use security groups.'];
  const PAIRS_REQUIRED = ['conflict', 'Port Security must be enabled in order to have allowed address pairs on a port.'];
  const HAS_GROUP = ['conflict', 'Port has security group associated. Cannot disable port security or IP address until security group is removed.'];

  describe('on create', () => {
    it("gives a port with port security and an address its project's default group", () => {
      expect(security(created([networkCreated(), v4], create({}, DEFAULT_ASKED)))).toEqual([true, [DEFAULT_SG]]);
      // the port's own port security over the network's
      expect(security(created([networkCreated({ portSecurityEnabled: false }), v4], create({ portSecurityEnabled: true }, DEFAULT_ASKED)))).toEqual([
        true,
        [DEFAULT_SG],
      ]);
    });

    it('gives no group to a port without port security (its own or its network default), without an address, or naming none', () => {
      expect(security(created([networkCreated(), v4], create({ portSecurityEnabled: false })))).toEqual([false, []]);
      expect(security(created([networkCreated({ portSecurityEnabled: false }), v4], create({}, DEFAULT_ASKED)))).toEqual([false, []]);
      expect(security(created([networkCreated()], create({}, DEFAULT_ASKED)))).toEqual([true, []]);
      expect(security(created([networkCreated(), v4], create({ fixedIps: [] }, DEFAULT_ASKED)))).toEqual([true, []]);
      expect(security(created([networkCreated(), v4], create({ securityGroups: [] })))).toEqual([true, []]);
    });

    it('makes trusted (network:) ports without port security or groups, whatever is asked', () => {
      for (const deviceOwner of ['network:dhcp', 'network:router_interface', 'network:router_gateway', 'network:floatingip']) {
        expect(security(created([networkCreated(), v4], create({ deviceOwner })))).toEqual([false, []]);
        expect(security(created([networkCreated(), v4], create({ deviceOwner, portSecurityEnabled: true })))).toEqual([false, []]);
      }
      expect(
        refusal([networkCreated(), v4], create({ deviceOwner: 'network:dhcp', securityGroups: ['sg-web'] }), 'IPAM.PortSecurityAndIPRequiredForSecurityGroups'),
      ).toEqual(SG_REQUIRED);
    });

    it('takes the named groups the security groups service confirmed, once each, instead of the default', () => {
      const facts = { confirmed: ['sg-web', 'sg-db'], defaultSecurityGroupId: null };
      expect(security(created([networkCreated(), v4], create({ securityGroups: ['sg-web', 'sg-db', 'sg-web'] }, facts)))).toEqual([true, ['sg-web', 'sg-db']]);
    });

    it('refuses named groups on a port without port security or without an address (400)', () => {
      const facts = { confirmed: ['sg-web'], defaultSecurityGroupId: null };
      const code = 'IPAM.PortSecurityAndIPRequiredForSecurityGroups';
      expect(refusal([networkCreated(), v4], create({ portSecurityEnabled: false, securityGroups: ['sg-web'] }), code)).toEqual(SG_REQUIRED);
      expect(refusal([networkCreated({ portSecurityEnabled: false }), v4], create({ securityGroups: ['sg-web'] }, facts), code)).toEqual(SG_REQUIRED);
      expect(refusal([networkCreated()], create({ securityGroups: ['sg-web'] }, facts), code)).toEqual(SG_REQUIRED);
    });

    it('refuses address pairs on a port without port security (409)', () => {
      const pairs = [{ ipAddress: '10.0.0.0/24' }];
      const code = 'IPAM.AddressPairAndPortSecurityRequired';
      expect(refusal([networkCreated(), v4], create({ portSecurityEnabled: false, allowedAddressPairs: pairs }), code)).toEqual(PAIRS_REQUIRED);
      expect(refusal([networkCreated({ portSecurityEnabled: false }), v4], create({ allowedAddressPairs: pairs }, DEFAULT_ASKED), code)).toEqual(
        PAIRS_REQUIRED,
      );
    });

    it("asks for the service's answer (the question it throws) only when the decision needs it, after every other check", () => {
      const given = [networkCreated(), v4];
      expect(questionOf(given, create())).toEqual({ projectId: 'project-a', securityGroupIds: [], withDefault: true });
      // the port's project, which an admin may set to another one
      expect(questionOf(given, { ...create(), projectId: 'project-b' }, admin)).toEqual({ projectId: 'project-b', securityGroupIds: [], withDefault: true });
      const partly = create({ securityGroups: ['sg-web', 'sg-x', 'sg-web'] }, { confirmed: ['sg-web'], defaultSecurityGroupId: null });
      expect(questionOf(given, partly)).toEqual({ projectId: 'project-a', securityGroupIds: ['sg-web', 'sg-x'], withDefault: false });
      // IPAM's own refusals come first: nothing is asked of a request refused anyway
      spec.given([]).when(create()).thenThrows('IPAM.NetworkNotFound');
      spec.given(given).when(create(), { projectId: 'project-b' }).thenThrows('IPAM.NetworkNotFound');
      spec
        .given(given)
        .when(create({ fixedIps: [{ ipAddress: '10.9.9.9' }] }))
        .thenThrows('IPAM.BadRequest', /not a valid IP/);
      spec
        .given(given)
        .when(create({ allowedAddressPairs: [{ ipAddress: 'x' }] }))
        .thenThrows('IPAM.BadRequest');
      spec
        .given(given)
        .when(create({ extraDhcpOpts: [{ optName: 'a b', optValue: '1', ipVersion: 4 }] }))
        .thenThrows('IPAM.BadRequest');
      spec
        .given(given)
        .when(create({ portSecurityEnabled: false, securityGroups: ['sg-web'] }))
        .thenThrows('IPAM.PortSecurityAndIPRequiredForSecurityGroups');
    });
  });

  describe('address pairs', () => {
    const pairsOf = (pairs: PortRequest['allowedAddressPairs']) =>
      created([networkCreated(), v4], create({ allowedAddressPairs: pairs }, DEFAULT_ASKED)).allowedAddressPairs;

    it("takes an address or a CIDR (host bits dropped), with the port's MAC unless one is given", () => {
      const mac = created([networkCreated(), v4], create({}, DEFAULT_ASKED)).macAddress;
      expect(pairsOf([{ ipAddress: '10.0.0.50' }, { ipAddress: '192.0.2.77/24' }, { ipAddress: '2001:DB8::1', macAddress: 'FA:16:3E:AA:BB:CC' }])).toEqual([
        { ipAddress: '10.0.0.50', macAddress: mac },
        { ipAddress: '192.0.2.0/24', macAddress: mac },
        { ipAddress: '2001:db8::1', macAddress: 'fa:16:3e:aa:bb:cc' },
      ]);
    });

    it('refuses duplicates and more than ten pairs (400), and bad addresses', () => {
      const given = [networkCreated(), v4];
      const dup = spec
        .given(given)
        .when(
          create(
            {
              allowedAddressPairs: [
                { ipAddress: '10.0.0.50', macAddress: 'fa:16:3e:aa:bb:cc' },
                { ipAddress: '10.0.0.50', macAddress: 'FA:16:3E:AA:BB:CC' },
              ],
            },
            DEFAULT_ASKED,
          ),
        )
        .thenThrows('IPAM.DuplicateAddressPairInRequest');
      expect([dup.kind, dup.message]).toEqual(['validation', 'Request contains duplicate address pair: mac_address fa:16:3e:aa:bb:cc ip_address 10.0.0.50.']);
      const eleven = Array.from({ length: 11 }, (_, i) => ({ ipAddress: `10.0.1.${i}` }));
      const tooMany = spec
        .given(given)
        .when(create({ allowedAddressPairs: eleven }, DEFAULT_ASKED))
        .thenThrows('IPAM.AllowedAddressPairExhausted');
      expect([tooMany.kind, tooMany.message]).toEqual(['validation', 'The number of allowed address pair exceeds the maximum 10.']);
      expect(pairsOf(eleven.slice(0, 10))).toHaveLength(10);
      spec
        .given(given)
        .when(create({ allowedAddressPairs: [{ ipAddress: '10.0.0.300' }] }, DEFAULT_ASKED))
        .thenThrows('IPAM.BadRequest', /not a valid IP address/);
      spec
        .given(given)
        .when(create({ allowedAddressPairs: [{ ipAddress: '10.0.0.3', macAddress: '01:00:5e:00:00:01' }] }, DEFAULT_ASKED))
        .thenThrows('IPAM.BadRequest', /MAC/);
    });
  });

  describe('on update', () => {
    const changes = (given: NetworkEvent[], command: ReturnType<typeof update>) => {
      const [e] = spec.given(given).when(command).events();
      if (e?.type !== 'PortUpdated') throw new Error('no port update');
      return e.data.changes;
    };

    it('refuses to turn port security off while the port keeps its groups (409), and takes it with the groups cleared', () => {
      const given = [networkCreated(), v4, port({ securityGroups: ['sg-web'] })];
      expect(refusal(given, update({ portSecurityEnabled: false }), 'IPAM.PortSecurityPortHasSecurityGroup')).toEqual(HAS_GROUP);
      expect(changes(given, update({ portSecurityEnabled: false, securityGroups: [] }))).toEqual({ portSecurityEnabled: false, securityGroups: [] });
      // without groups there is nothing to keep
      expect(changes([networkCreated(), v4, port()], update({ portSecurityEnabled: false }))).toEqual({ portSecurityEnabled: false });
    });

    it('refuses to take the last address of a port that keeps its groups (409)', () => {
      const given = [networkCreated(), v4, port({ securityGroups: ['sg-web'] })];
      expect(refusal(given, update({ fixedIps: [] }), 'IPAM.PortSecurityPortHasSecurityGroup')).toEqual(HAS_GROUP);
      expect(changes(given, update({ fixedIps: [], securityGroups: [] }))).toEqual({ fixedIps: [], securityGroups: [] });
    });

    it('refuses to turn port security off while the port keeps address pairs (409), and takes it with them cleared', () => {
      const given = [networkCreated(), v4, port({ pairs: 2 })];
      expect(refusal(given, update({ portSecurityEnabled: false }), 'IPAM.AddressPairAndPortSecurityRequired')).toEqual(PAIRS_REQUIRED);
      expect(
        refusal(given, update({ portSecurityEnabled: false, allowedAddressPairs: [{ ipAddress: '10.9.9.9' }] }), 'IPAM.AddressPairAndPortSecurityRequired'),
      ).toEqual(PAIRS_REQUIRED);
      expect(changes(given, update({ portSecurityEnabled: false, allowedAddressPairs: [] }))).toEqual({ portSecurityEnabled: false, allowedAddressPairs: [] });
      expect(
        refusal(
          [networkCreated(), v4, port({ portSecurityEnabled: false })],
          update({ allowedAddressPairs: [{ ipAddress: '10.9.9.9' }] }),
          'IPAM.AddressPairAndPortSecurityRequired',
        ),
      ).toEqual(PAIRS_REQUIRED);
    });

    it('replaces the groups with the confirmed ones, clears them with [], and refuses them without port security or address (400)', () => {
      const given = [networkCreated(), v4, port({ securityGroups: [DEFAULT_SG] })];
      const facts = { confirmed: ['sg-web', 'sg-db'], defaultSecurityGroupId: null };
      expect(changes(given, update({ securityGroups: ['sg-web', 'sg-db', 'sg-db'] }, facts))).toEqual({ securityGroups: ['sg-web', 'sg-db'] });
      expect(changes(given, update({ securityGroups: [] }))).toEqual({ securityGroups: [] });
      const code = 'IPAM.PortSecurityAndIPRequiredForSecurityGroups';
      expect(refusal(given, update({ portSecurityEnabled: false, securityGroups: ['sg-web'] }, facts), code)).toEqual(SG_REQUIRED);
      expect(refusal([networkCreated(), v4, port({ portSecurityEnabled: false })], update({ securityGroups: ['sg-web'] }, facts), code)).toEqual(SG_REQUIRED);
      expect(refusal([networkCreated(), v4, port({ fixedIps: [] })], update({ securityGroups: ['sg-web'] }, facts), code)).toEqual(SG_REQUIRED);
      // port security back on with groups in one request
      expect(
        changes([networkCreated(), v4, port({ portSecurityEnabled: false })], update({ portSecurityEnabled: true, securityGroups: ['sg-web'] }, facts)),
      ).toEqual({
        portSecurityEnabled: true,
        securityGroups: ['sg-web'],
      });
      // named groups are the service's to check, for the port's project
      expect(questionOf(given, update({ securityGroups: ['sg-web'] }), admin)).toEqual({
        projectId: 'project-a',
        securityGroupIds: ['sg-web'],
        withDefault: false,
      });
    });

    it('leaves the groups alone when the request does not name them', () => {
      const given = [networkCreated(), v4, port({ securityGroups: ['sg-web'] })];
      expect(changes(given, update({ name: 'x', portSecurityEnabled: true }))).toEqual({ name: 'x', portSecurityEnabled: true });
    });
  });
});
