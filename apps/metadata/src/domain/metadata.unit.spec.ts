import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { type MetaEvent } from '@ncp/contracts';
import { ec2MetaData, metaDataJson, networkDataJson, networkType, renderEc2, type InstanceFacts, type PortFacts, type SubnetFacts } from './formats';
import { instanceDecider } from './instance.decider';
import { metadataProxies, portOfInstance, type PlacedRouter } from './proxy-intent';
import { issueToken, parseTokenTtl, verifyToken } from './token';

const I = '1a5ce000-0000-4000-8000-000000000001';
const instance: InstanceFacts = {
  id: I,
  projectId: 'p1',
  name: 'web 1',
  hostname: 'web-1',
  availabilityZone: 'az-a',
  publicKeys: [{ name: 'ops', type: 'ssh', data: 'ssh-ed25519 AAAAC3Nza ops@example' }],
  userData: Buffer.from('#cloud-config\n').toString('base64'),
  metadata: { role: 'web' },
  vendorData: { motd: 'hi' },
};
const subnets = new Map<string, SubnetFacts>(
  [
    {
      id: 's4',
      ipVersion: 4,
      cidr: '10.0.0.0/26',
      gatewayIp: '10.0.0.1',
      enableDhcp: true,
      ipv6AddressMode: null,
      dnsNameservers: ['10.0.0.53'],
      hostRoutes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.254' }],
    },
    { id: 's4static', ipVersion: 4, cidr: '10.9.0.0/24', gatewayIp: null, enableDhcp: false, ipv6AddressMode: null, dnsNameservers: [], hostRoutes: [] },
    {
      id: 's6',
      ipVersion: 6,
      cidr: '2001:db8:1::/64',
      gatewayIp: '2001:db8:1::1',
      enableDhcp: true,
      ipv6AddressMode: 'slaac',
      dnsNameservers: ['2001:db8::53'],
      hostRoutes: [],
    },
  ].map((s) => [s.id, s]),
);
const eth0: PortFacts = {
  id: 'aaaaaaaa-0000-4000-8000-000000000001',
  networkId: 'n1',
  macAddress: 'fa:16:3e:00:00:01',
  mtu: 1450,
  fixedIps: [
    { subnetId: 's4', ipAddress: '10.0.0.10' },
    { subnetId: 's6', ipAddress: '2001:db8:1::f816:3eff:fe00:1' },
  ],
};
const eth1: PortFacts = {
  id: 'bbbbbbbb-0000-4000-8000-000000000002',
  networkId: 'n2',
  macAddress: 'fa:16:3e:00:00:02',
  mtu: 1500,
  fixedIps: [{ subnetId: 's4static', ipAddress: '10.9.0.5' }],
};

describe('OpenStack formats', () => {
  it('writes meta_data.json as Nova does', () => {
    expect(metaDataJson(instance, 'c2VlZA==')).toEqual({
      uuid: I,
      name: 'web 1',
      hostname: 'web-1',
      launch_index: 0,
      availability_zone: 'az-a',
      project_id: 'p1',
      meta: { role: 'web' },
      public_keys: { ops: 'ssh-ed25519 AAAAC3Nza ops@example' },
      keys: [{ name: 'ops', type: 'ssh', data: 'ssh-ed25519 AAAAC3Nza ops@example' }],
      random_seed: 'c2VlZA==',
      devices: [],
    });
  });

  it("types each address by its subnet's DHCP and IPv6 modes", () => {
    const s = (over: Partial<SubnetFacts>): SubnetFacts => ({ ...(subnets.get('s6') as SubnetFacts), ...over });
    expect([
      networkType(subnets.get('s4') as SubnetFacts),
      networkType(subnets.get('s4static') as SubnetFacts),
      networkType(s({ ipv6AddressMode: 'slaac' })),
      networkType(s({ ipv6AddressMode: 'dhcpv6-stateless' })),
      networkType(s({ ipv6AddressMode: 'dhcpv6-stateful' })),
      networkType(s({ ipv6AddressMode: null })),
    ]).toEqual(['ipv4_dhcp', 'ipv4', 'ipv6_slaac', 'ipv6_dhcpv6-stateless', 'ipv6_dhcpv6-stateful', 'ipv6']);
  });

  it('writes network_data.json: a link per port, a network per address with routes and DNS, the DNS services', () => {
    const doc = networkDataJson([eth0, eth1], subnets) as { links: unknown[]; networks: Record<string, unknown>[]; services: unknown[] };
    expect(doc.links).toEqual([
      { id: 'tapaaaaaaaa-00', vif_id: eth0.id, type: 'phy', mtu: 1450, ethernet_mac_address: 'fa:16:3e:00:00:01' },
      { id: 'tapbbbbbbbb-00', vif_id: eth1.id, type: 'phy', mtu: 1500, ethernet_mac_address: 'fa:16:3e:00:00:02' },
    ]);
    expect(doc.networks).toEqual([
      {
        id: 'network0',
        link: 'tapaaaaaaaa-00',
        type: 'ipv4_dhcp',
        ip_address: '10.0.0.10',
        netmask: '255.255.255.192',
        routes: [
          { network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.0.0.1' },
          { network: '192.168.0.0', netmask: '255.255.0.0', gateway: '10.0.0.254' },
        ],
        network_id: 'n1',
        services: [{ type: 'dns', address: '10.0.0.53' }],
      },
      {
        id: 'network1',
        link: 'tapaaaaaaaa-00',
        type: 'ipv6_slaac',
        ip_address: '2001:db8:1::f816:3eff:fe00:1',
        netmask: 'ffff:ffff:ffff:ffff::',
        routes: [{ network: '::', netmask: '::', gateway: '2001:db8:1::1' }],
        network_id: 'n1',
        services: [{ type: 'dns', address: '2001:db8::53' }],
      },
      { id: 'network2', link: 'tapbbbbbbbb-00', type: 'ipv4', ip_address: '10.9.0.5', netmask: '255.255.255.0', routes: [], network_id: 'n2', services: [] },
    ]);
    expect(doc.services).toEqual([
      { type: 'dns', address: '10.0.0.53' },
      { type: 'dns', address: '2001:db8::53' },
    ]);
  });
});

describe('EC2 format', () => {
  const tree = ec2MetaData(instance, eth0, [eth0, eth1], subnets, [{ portId: eth0.id, fixedIpAddress: '10.0.0.10', floatingIpAddress: '203.0.113.7' }]);
  const get = (path: string) => renderEc2(tree, path.split('/'), ['ops']);

  it('answers the leaves an instance reads', () => {
    expect([
      get('instance-id'),
      get('local-ipv4'),
      get('public-ipv4'),
      get('mac'),
      get('hostname'),
      get('placement/availability-zone'),
      get('public-keys/0/openssh-key'),
    ]).toEqual([I, '10.0.0.10', '203.0.113.7', 'fa:16:3e:00:00:01', 'web-1', 'az-a', 'ssh-ed25519 AAAAC3Nza ops@example']);
    expect(get('network/interfaces/macs/fa:16:3e:00:00:02/local-ipv4s')).toBe('10.9.0.5');
    expect(get('network/interfaces/macs/fa:16:3e:00:00:01/ipv6s')).toBe('2001:db8:1::f816:3eff:fe00:1');
  });

  it('lists directories with a slash after subdirectories, public-keys as index=name, and knows no other path', () => {
    expect(get('')?.split('\n')).toEqual([
      'instance-id',
      'hostname',
      'local-hostname',
      'mac',
      'placement/',
      'network/',
      'local-ipv4',
      'public-ipv4',
      'public-keys/',
    ]);
    expect(get('public-keys')).toBe('0=ops');
    expect(get('network/interfaces/macs')).toBe('fa:16:3e:00:00:01/\nfa:16:3e:00:00:02/');
    expect(get('nothing')).toBeNull();
    expect(get('instance-id/deeper')).toBeNull();
  });

  it('has no public-ipv4 without a floating IP', () => {
    expect(renderEc2(ec2MetaData(instance, eth1, [eth0, eth1], subnets, []), ['public-ipv4'])).toBeNull();
  });
});

describe('IMDSv2 tokens', () => {
  const key = 'k'.repeat(32);
  const now = 1_800_000_000_000;

  it('are good for their instance until they expire', () => {
    const token = issueToken(key, I, 60, now);
    expect(verifyToken(key, token, I, now + 59_000)).toEqual({ ok: true });
    expect(verifyToken(key, token, I, now + 60_000)).toEqual({ ok: false, reason: 'token expired' });
    expect(verifyToken(key, token, 'another', now)).toEqual({ ok: false, reason: 'token was issued to another instance' });
    expect(verifyToken('x'.repeat(32), token, I, now)).toEqual({ ok: false, reason: 'token signature does not match' });
    const [payload = ''] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ i: I, e: now + 1e9 })).toString('base64url')}.${token.split('.')[1] ?? ''}`;
    expect(payload).not.toBe(forged.split('.')[0]);
    expect(verifyToken(key, forged, I, now).ok).toBe(false);
    expect(verifyToken(key, 'garbage', I, now)).toEqual({ ok: false, reason: 'malformed token' });
  });

  it('take a TTL of 1 to 21600 seconds', () => {
    expect([parseTokenTtl('1'), parseTokenTtl('21600'), parseTokenTtl('0'), parseTokenTtl('21601'), parseTokenTtl('1.5'), parseTokenTtl(undefined)]).toEqual([
      1,
      21600,
      null,
      null,
      null,
      null,
    ]);
  });
});

describe('instance decider', () => {
  const spec = deciderSpec(instanceDecider);
  const registered: MetaEvent = {
    type: 'InstanceRegistered',
    data: { projectId: 'p1', name: 'a', hostname: 'a', availabilityZone: 'nova', publicKeys: [], userData: null, metadata: {}, vendorData: {} },
  };

  it('registers an id once, records only real changes, and knows no deleted instance', () => {
    spec
      .given([registered])
      .when({ type: 'RegisterInstance', id: I, ...registered.data })
      .thenThrows('META.InstanceExists');
    spec
      .given([registered])
      .when({ type: 'UpdateInstance', id: I, changes: { metadata: {}, name: 'a' } })
      .then([]);
    spec
      .given([registered])
      .when({ type: 'UpdateInstance', id: I, changes: { metadata: { k: 'v' } } })
      .then([{ type: 'InstanceUpdated', data: { changes: { metadata: { k: 'v' } } } }]);
    spec
      .given([registered, { type: 'InstanceDeleted', data: {} }])
      .when({ type: 'UpdateInstance', id: I, changes: { name: 'b' } })
      .thenThrows('META.InstanceNotFound');
  });
});

describe('metadata proxies', () => {
  const R = 'eeeeeeee-0000-4000-8000-000000000001';
  const N1 = '11111111-0000-4000-8000-000000000001';
  const N2 = '22222222-0000-4000-8000-000000000002';
  const ports = [
    {
      id: 'cccccccc-0000-4000-8000-000000000001',
      networkId: N1,
      projectId: 'p1',
      macAddress: 'FA:16:3E:00:00:01',
      deviceId: I,
      fixedIps: [{ ipAddress: '10.0.0.10' }],
    },
    {
      id: 'dddddddd-0000-4000-8000-000000000002',
      networkId: N2,
      projectId: 'p1',
      macAddress: 'fa:16:3e:00:00:02',
      deviceId: I,
      fixedIps: [{ ipAddress: '10.9.0.5' }],
    },
    // a port of no registered instance is nobody's metadata
    {
      id: 'ffffffff-0000-4000-8000-000000000003',
      networkId: N1,
      projectId: 'p1',
      macAddress: 'fa:16:3e:00:00:03',
      deviceId: 'other',
      fixedIps: [{ ipAddress: '10.0.0.11' }],
    },
  ];

  it('answers in the router namespace for routed networks and in the DHCP namespace of the others', () => {
    const proxies = metadataProxies(
      [{ id: R, host: 'net-a1', row: 'row-a', interfaces: [{ portId: '99999999-0000-4000-8000-00000000000a', networkId: N1 }] }],
      [
        { networkId: N1, host: 'net-a1', row: 'row-a' },
        { networkId: N2, host: 'net-b1', row: 'row-b' },
      ],
      ports,
      new Map([[I, 'p1']]),
    );
    expect(proxies).toEqual([
      {
        host: 'net-a1',
        row: 'row-a',
        intent: {
          id: R,
          kind: 'router',
          namespace: 'qrouter-eeeeeeee',
          interfaces: ['qr-99999999000'],
          endpoints: [{ portId: ports[0]?.id, instanceId: I, projectId: 'p1', mac: 'fa:16:3e:00:00:01', addresses: ['10.0.0.10'] }],
        },
      },
      {
        host: 'net-b1',
        row: 'row-b',
        intent: {
          id: N2,
          kind: 'dhcp',
          namespace: 'qdhcp-22222222',
          interfaces: ['ns-22222222000'],
          endpoints: [{ portId: ports[1]?.id, instanceId: I, projectId: 'p1', mac: 'fa:16:3e:00:00:02', addresses: ['10.9.0.5'] }],
        },
      },
    ]);
  });

  it("serves no instance on another project's port that carries its id as device_id", () => {
    // project p2 registered an instance under the device_id of p1's port: it is not p1's workload
    const proxies = metadataProxies([], [{ networkId: N1, host: 'net-a1', row: 'row-a' }], ports, new Map([[I, 'p2']]));
    expect(proxies.map((p) => p.intent.endpoints)).toEqual([[]]);
    expect(portOfInstance({ deviceId: I, projectId: 'p1' }, new Map([[I, 'p1']]))).toBe(true);
    expect(portOfInstance({ deviceId: I, projectId: 'p1' }, new Map([[I, 'p2']]))).toBe(false);
  });

  /** Where fe80::a9fe:a9fe goes, per network: `<namespace> <interface>`. */
  const v6Holders = (proxies: ReturnType<typeof metadataProxies>, interfaceNetworks: Record<string, string>): Record<string, string[]> => {
    const held: Record<string, string[]> = {};
    for (const p of proxies) {
      for (const ifname of p.intent.interfaces) {
        const network = p.intent.kind === 'dhcp' ? p.intent.id : (interfaceNetworks[ifname] ?? '?');
        held[network] = [...(held[network] ?? []), `${p.intent.namespace} ${ifname}`];
      }
    }
    return held;
  };

  it("puts fe80::a9fe:a9fe on one interface per network: a router's IPv4 and IPv6 ports, two routers, and a DHCP server on one network", () => {
    const R2 = '0eeeeeee-0000-4000-8000-000000000002'; // sorts before R
    const v4Port = '99999999-0000-4000-8000-00000000000b';
    const v6Port = '99999999-0000-4000-8000-00000000000a';
    const other = '88888888-0000-4000-8000-00000000000c';
    const proxies = metadataProxies(
      [
        // a dual-stack network: Neutron gives the router one port per IPv4 subnet and one for its IPv6 subnets
        {
          id: R,
          host: 'net-a1',
          row: 'row-a',
          interfaces: [
            { portId: v4Port, networkId: N1 },
            { portId: v6Port, networkId: N1 },
            { portId: other, networkId: N2 },
          ],
        },
        { id: R2, host: 'net-b1', row: 'row-b', interfaces: [{ portId: '77777777-0000-4000-8000-00000000000d', networkId: N2 }] },
      ],
      [
        { networkId: N1, host: 'net-a1', row: 'row-a' },
        { networkId: N2, host: 'net-b1', row: 'row-b' },
      ],
      ports,
      new Map([[I, 'p1']]),
    );
    expect(v6Holders(proxies, { 'qr-99999999000': N1, 'qr-88888888000': N2, 'qr-77777777000': N2 })).toEqual({
      [N1]: ['qrouter-eeeeeeee qr-99999999000'],
      [N2]: ['qrouter-0eeeeeee qr-77777777000'],
    });
    // the lower port id of the two on N1; R still answers IPv4 for N2's instances (its gateway there)
    const r = proxies.find((p) => p.intent.id === R)?.intent;
    expect(r?.interfaces).toEqual([`qr-${v6Port.replace(/-/g, '').slice(0, 11)}`]);
    expect(r?.endpoints.map((e) => e.portId)).toEqual([ports[0]?.id, ports[1]?.id]);
    expect(proxies.map((p) => p.intent.kind)).toEqual(['router', 'router']);
  });

  it('moves fe80::a9fe:a9fe with the routers: DHCP port -> router -> the other router -> DHCP port, one holder at every step', () => {
    const R2 = 'ffffffff-0000-4000-8000-000000000002';
    const r1 = { id: R, host: 'net-a1', row: 'row-a', interfaces: [{ portId: 'aaaaaaaa-0000-4000-8000-00000000000a', networkId: N1 }] };
    const r2 = { id: R2, host: 'net-a1', row: 'row-a', interfaces: [{ portId: 'bbbbbbbb-0000-4000-8000-00000000000b', networkId: N1 }] };
    const dhcp = [{ networkId: N1, host: 'net-a1', row: 'row-a' }];
    const names = { 'qr-aaaaaaaa000': N1, 'qr-bbbbbbbb000': N1 };
    const at = (routers: PlacedRouter[]) => v6Holders(metadataProxies(routers, dhcp, ports, new Map([[I, 'p1']])), names)[N1];
    expect(at([])).toEqual(['qdhcp-11111111 ns-11111111000']);
    expect(at([r1])).toEqual(['qrouter-eeeeeeee qr-aaaaaaaa000']);
    expect(at([r2, r1])).toEqual(['qrouter-eeeeeeee qr-aaaaaaaa000']);
    expect(at([r2])).toEqual(['qrouter-ffffffff qr-bbbbbbbb000']);
    expect(at([{ ...r2, interfaces: [] }])).toEqual(['qdhcp-11111111 ns-11111111000']);
    // a router attached but not placed yet: the network is routed, nobody holds it until it is
    expect(at([{ ...r1, host: null, row: null }])).toBeUndefined();
  });

  it('has no proxy where the router or DHCP server is not placed yet', () => {
    expect(
      metadataProxies(
        [{ id: R, host: null, row: null, interfaces: [{ portId: 'x', networkId: N1 }] }],
        [{ networkId: N1, host: 'h', row: 'r' }],
        ports,
        new Map([[I, 'p1']]),
      ),
    ).toEqual([]);
  });
});
