import { type DhcpServerIntent, type RaIntent } from '@ncp/contracts';

export const NET = '5e7a0001-0000-4000-8000-000000000001';
export const NET2 = '5e7a0002-0000-4000-8000-000000000002';
export const ROUTER = '7a000001-0000-4000-8000-000000000001';
export const NS = 'qdhcp-5e7a0001';
export const NS2 = 'qdhcp-5e7a0002';
export const RNS = 'qrouter-7a000001';
export const IF = 'ns-5e7a0001000';
export const QR1 = 'qr-11111111-11';
export const QR2 = 'qr-22222222-22';
export const STATE = '/var/lib/ncp-agent';
export const P1 = 'b0000001-0000-4000-8000-000000000001';
export const P2 = 'b0000002-0000-4000-8000-000000000002';
export const P3 = 'b0000003-0000-4000-8000-000000000003';

/** Dual stack: DHCPv4 with host routes, a stateless and a stateful IPv6 subnet, three ports. */
export const server1: DhcpServerIntent = {
  networkId: NET,
  namespace: NS,
  ifname: IF,
  portId: 'b0000000-0000-4000-8000-000000000000',
  addresses: ['10.0.0.2/24', '2001:db8:0:1::2/64', '2001:0db8:0:2::2/64'],
  mtu: 1450,
  domain: 'openstacklocal',
  leaseSeconds: 86400,
  subnets: [
    {
      id: 'c0000004-0000-4000-8000-000000000004',
      mode: 'dhcpv4',
      cidr: '10.0.0.0/24',
      gatewayIp: '10.0.0.1',
      dnsNameservers: ['8.8.8.8', '1.1.1.1'],
      hostRoutes: [
        { destination: '169.254.169.254/32', nexthop: '10.0.0.2' },
        { destination: '192.168.0.0/16', nexthop: '10.0.0.254' },
      ],
    },
    {
      id: 'c0000061-0000-4000-8000-000000000061',
      mode: 'dhcpv6-stateless',
      cidr: '2001:db8:0:1::/64',
      gatewayIp: null,
      dnsNameservers: ['2001:4860:4860::8888'],
      hostRoutes: [],
    },
    { id: 'c0000062-0000-4000-8000-000000000062', mode: 'dhcpv6-stateful', cidr: '2001:db8:0:2::/64', gatewayIp: null, dnsNameservers: [], hostRoutes: [] },
  ],
  hosts: [
    // out of id order on purpose: the files are sorted
    { portId: P2, macAddress: 'fa:16:3e:00:00:02', hostname: 'vm-2', ipAddresses: ['10.0.0.12'], extraOptions: [] },
    {
      portId: P1,
      macAddress: 'fa:16:3e:00:00:01',
      hostname: 'vm-1',
      // the stateless address is the client's own (SLAAC): no host line
      ipAddresses: ['10.0.0.11', '2001:db8:0:1:f816:3eff:fe00:1', '2001:0db8:0:2::0011'],
      extraOptions: [
        { name: 'tftp-server', value: '10.0.0.9', ipVersion: 4 },
        { name: '150', value: '10.0.0.9', ipVersion: 4 },
        { name: 'bootfile-url', value: 'tftp://[2001:db8:0:2::9]/boot.ipxe', ipVersion: 6 },
      ],
    },
  ],
};

/** IPv4 only, no gateway, no DNS servers, no host routes. */
export const isolated: DhcpServerIntent = {
  ...server1,
  networkId: NET2,
  namespace: NS2,
  ifname: 'ns-5e7a0002000',
  addresses: ['172.16.0.2/28'],
  mtu: 1500,
  leaseSeconds: 600,
  subnets: [{ id: 'c0000005-0000-4000-8000-000000000005', mode: 'dhcpv4', cidr: '172.16.0.0/28', gatewayIp: null, dnsNameservers: [], hostRoutes: [] }],
  hosts: [{ portId: P3, macAddress: 'fa:16:3e:00:00:03', hostname: 'db', ipAddresses: ['172.16.0.5'], extraOptions: [] }],
};

export const ra1: RaIntent = {
  routerId: ROUTER,
  namespace: RNS,
  routerLifetime: 1800,
  validLifetime: 86400,
  preferredLifetime: 14400,
  minInterval: 200,
  maxInterval: 600,
  interfaces: [
    {
      ifname: QR1,
      sourceAddress: 'fe80::f816:3eff:fe11:1111',
      managed: false,
      otherConfig: true,
      mtu: 1450,
      prefixes: [{ cidr: '2001:db8:0:1::/64', autonomous: true }],
      rdnss: ['2001:4860:4860::8888', '2001:4860:4860::8844', '2606:4700:4700::1111', '2606:4700:4700::1001'],
    },
    // written in full and upper case: radvd.conf gets the canonical form
    {
      ifname: QR2,
      sourceAddress: 'FE80:0:0:0:F816:3EFF:FE22:2222',
      managed: true,
      otherConfig: true,
      mtu: 9000,
      prefixes: [{ cidr: '2001:db8:0:2::/64', autonomous: false }],
      rdnss: [],
    },
  ],
};
