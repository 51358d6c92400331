import { isValidIp } from '@ncp/netaddr';
import { z } from 'zod';
import { isValidId, isValidLinkName, isValidNetnsName } from './names';

/**
 * Desired state of one router on the host that runs it. The router's ports are plugged by
 * the L2 driver like any port (a veth end named `ifname` in `namespace`, with the port's
 * MAC); this intent says what happens inside the namespace.
 */
export interface RouterInterfaceIntent {
  /** the IPAM port behind the interface */
  portId: string;
  /** internal (qr-, on a tenant network) or gateway (qg-, on the external network) */
  kind: 'internal' | 'gateway';
  ifname: string;
  /** the port's addresses with the prefix length of their subnet, e.g. 172.16.100.1/24 */
  addresses: string[];
}

export interface RouterRouteIntent {
  /** a CIDR; 0.0.0.0/0 and ::/0 for the default routes */
  destination: string;
  nexthop: string;
}

export interface SnatIntent {
  /** an internal IPv4 subnet whose traffic leaves through the gateway with the gateway's address */
  source: string;
  /** the gateway's IPv4 address */
  to: string;
  /** destinations reached with the source's own address (NAT exclusions), as CIDRs */
  exceptDestinations: string[];
}

export interface FloatingIpIntent {
  /** floating IP id, for status reports */
  id: string;
  floatingIp: string;
  fixedIp: string;
}

export interface RouterIntent {
  /** router uuid */
  id: string;
  /** qrouter-<first 8 hex of the id> */
  namespace: string;
  adminStateUp: boolean;
  interfaces: RouterInterfaceIntent[];
  /** default routes through the external subnet's gateway, then the router's extra routes */
  routes: RouterRouteIntent[];
  /** IPv4 only: Neutron routes IPv6 without NAT */
  snat: SnatIntent[];
  floatingIps: FloatingIpIntent[];
}

const Id = z.string().refine(isValidId, 'must be a UUID');
const Ip = z.string().refine(isValidIp, 'must be an IP address');
const Cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'must be a CIDR');

export const RouterIntentSchema: z.ZodType<RouterIntent> = z.object({
  id: Id,
  namespace: z.string().refine(isValidNetnsName, 'must be a namespace name'),
  adminStateUp: z.boolean(),
  interfaces: z.array(
    z.object({
      portId: Id,
      kind: z.enum(['internal', 'gateway']),
      ifname: z.string().refine(isValidLinkName, 'must be an interface name'),
      addresses: z.array(Cidr),
    }),
  ),
  routes: z.array(z.object({ destination: Cidr, nexthop: Ip })),
  snat: z.array(z.object({ source: Cidr, to: Ip, exceptDestinations: z.array(Cidr) })),
  floatingIps: z.array(z.object({ id: Id, floatingIp: Ip, fixedIp: Ip })),
});

/** `qrouter-<first 8 hex digits of the router id>`, as Neutron names them. */
export function routerNamespace(routerId: string): string {
  return `qrouter-${routerId.replace(/-/g, '').slice(0, 8)}`;
}

/** Interface names of router ports inside the namespace: qr-/qg- plus 11 characters of the port id. */
export function routerInterfaceName(kind: 'internal' | 'gateway', portId: string): string {
  return `${kind === 'internal' ? 'qr' : 'qg'}-${portId.replace(/-/g, '').slice(0, 11)}`;
}

/** What every router namespace name starts with (Neutron's prefix). */
export const ROUTER_NAMESPACE_PREFIX = 'qrouter-';

/** One floating IP on its own, so the planner can refuse a bad one without refusing its router. */
export const FloatingIpIntentSchema: z.ZodType<FloatingIpIntent> = z.object({ id: Id, floatingIp: Ip, fixedIp: Ip });
