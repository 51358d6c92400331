import { type RouterIntent, type RouterInterfaceIntent, type RouterRouteIntent } from '@ncp/contracts';
import { renderRouterNat, routerNat } from '../nft.js';
import { parseNftTableText, type ObservedAddress, type ObservedL3, type ObservedRoute, type ObservedRouterLink, type ObservedRouterNs } from '../observed.js';

export const R1 = 'a1b2c3d4-0000-4000-8000-00000000000a';
export const R2 = 'b2c3d4e5-0000-4000-8000-00000000000b';
export const PORT_QR = 'c1000000-0000-4000-8000-000000000001';
export const PORT_QG = 'c2000000-0000-4000-8000-000000000002';
export const F1 = 'f1000000-0000-4000-8000-0000000000f1';
export const F2 = 'f2000000-0000-4000-8000-0000000000f2';
export const NS1 = 'qrouter-a1b2c3d4';
export const NS2 = 'qrouter-b2c3d4e5';
export const QR = 'qr-c1000000000';
export const QG = 'qg-c2000000000';

/**
 * The addressing the L3 tests share: an internal interface on 172.16.100.0/24 + fd00:100::/64
 * (the router .1 / ::1) and a gateway interface on the external 10.0.2.0/24 + 2001:db8:0:1::/64
 * (the router .211 / ::1, the upstream .2 / ::2).
 */
export function dualStackInterfaces(qr: { portId: string; ifname: string }, qg: { portId: string; ifname: string }): RouterInterfaceIntent[] {
  return [
    { ...qr, kind: 'internal', addresses: ['172.16.100.1/24', 'fd00:100::1/64'] },
    { ...qg, kind: 'gateway', addresses: ['10.0.2.211/24', '2001:db8:0:1::1/64'] },
  ];
}

/** The default routes of {@link dualStackInterfaces}: both via the upstream. */
export const UPSTREAM_DEFAULT_ROUTES: readonly RouterRouteIntent[] = [
  { destination: '0.0.0.0/0', nexthop: '10.0.2.2' },
  { destination: '::/0', nexthop: '2001:db8:0:1::2' },
];

/** A router with an internal and a gateway interface (dual stack), SNAT with exclusions and two floating IPs. */
export const router1: RouterIntent = {
  id: R1,
  namespace: NS1,
  adminStateUp: true,
  interfaces: dualStackInterfaces({ portId: PORT_QR, ifname: QR }, { portId: PORT_QG, ifname: QG }),
  routes: [
    ...UPSTREAM_DEFAULT_ROUTES,
    { destination: '10.50.0.0/16', nexthop: '172.16.100.254' },
    { destination: '2001:db8:0:2::/64', nexthop: '2001:db8:0:1::2' },
  ],
  snat: [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: ['192.168.0.0/16', '10.9.0.0/24'] }],
  floatingIps: [
    { id: F2, floatingIp: '10.0.2.216', fixedIp: '172.16.100.11' },
    { id: F1, floatingIp: '10.0.2.215', fixedIp: '172.16.100.10' },
  ],
};

/** A router without ports yet: its namespace is created, nothing else. */
export const router2: RouterIntent = { id: R2, namespace: NS2, adminStateUp: true, interfaces: [], routes: [], snat: [], floatingIps: [] };

export function address(cidr: string, extra: Partial<ObservedAddress> = {}): ObservedAddress {
  return { family: cidr.includes(':') ? 6 : 4, cidr, scope: 'global', dadFailed: false, deprecated: false, ...extra };
}

export function route(destination: string, nexthops: string[], protocol: string, extra: Partial<ObservedRoute> = {}): ObservedRoute {
  const family = destination.includes(':') ? 6 : 4;
  return { family, destination, nexthops, protocol, metric: family === 6 ? (protocol === '2' ? 256 : 1024) : null, type: 'unicast', ...extra };
}

function link(name: string, addresses: ObservedAddress[], up = true): ObservedRouterLink {
  return { name, up, addresses };
}

/** Router 1's namespace exactly as the intent wants it. */
export function convergedRouter1(): ObservedRouterNs {
  const nat = routerNat(router1);
  const rendered = nat === null ? null : renderRouterNat(nat);
  return {
    links: [
      link('lo', [address('127.0.0.1/8', { scope: 'host' }), address('::1/128', { scope: 'host' })]),
      link(QR, [address('172.16.100.1/24'), address('fd00:100::1/64'), address('fe80::1/64', { scope: 'link' })]),
      link(QG, [
        address('10.0.2.211/24'),
        address('10.0.2.215/32'),
        address('10.0.2.216/32'),
        address('2001:db8:0:1::1/64'),
        address('fe80::2/64', { scope: 'link' }),
      ]),
    ],
    routes: [
      route('0.0.0.0/0', ['10.0.2.2'], '190'),
      route('10.0.2.0/24', [], '2'),
      route('10.50.0.0/16', ['172.16.100.254'], '190'),
      route('172.16.100.0/24', [], '2'),
      route('2001:db8:0:1::/64', [], '2'),
      route('2001:db8:0:2::/64', ['2001:db8:0:1::2'], '190'),
      route('fd00:100::/64', [], '2'),
      route('fe80::/64', [], '2'),
      route('::/0', ['2001:db8:0:1::2'], '190'),
    ],
    sysctl: {
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.forwarding': '1',
      'net.ipv4.conf.all.promote_secondaries': '1',
      'net.ipv6.conf.all.keep_addr_on_down': '1',
      'net.ipv4.conf.all.arp_ignore': '1',
    },
    ruleset: rendered === null ? null : parseNftTableText(rendered.text),
  };
}

/** Both namespaces exist and match (router 2's is bare but configured). */
export function convergedHost(): ObservedL3 {
  return {
    netns: [NS1, NS2],
    routers: {
      [NS1]: convergedRouter1(),
      [NS2]: { ...convergedRouter1(), links: [link('lo', [address('127.0.0.1/8', { scope: 'host' })])], routes: [], ruleset: null },
    },
  };
}

/** The router namespace right after the L2 driver plugged the two ports (veths up, no addresses). */
export function freshlyPlugged(): ObservedL3 {
  return {
    netns: [NS1],
    routers: {
      [NS1]: {
        links: [link('lo', [], false), link(QR, [address('fe80::1/64', { scope: 'link' })]), link(QG, [address('fe80::2/64', { scope: 'link' })])],
        routes: [route('fe80::/64', [], '2')],
        sysctl: {
          'net.ipv4.ip_forward': '0',
          'net.ipv6.conf.all.forwarding': '0',
          'net.ipv4.conf.all.promote_secondaries': '0',
          'net.ipv6.conf.all.keep_addr_on_down': '0',
          'net.ipv4.conf.all.arp_ignore': '0',
        },
        ruleset: null,
      },
    },
  };
}
