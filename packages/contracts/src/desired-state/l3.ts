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
  /**
   * Set for an HA router (Neutron's l3-ha): the router runs on two hosts, and keepalived (VRRP
   * over the `ha` interface) decides which one holds its addresses and routes. Absent or null:
   * the router runs here alone and the L3 driver configures everything itself.
   */
  ha?: RouterHaIntent | null;
}

/** What makes one host's instance of an HA router (see `RouterIntent.ha`). */
export interface RouterHaIntent {
  /** the VRRP virtual router id, unique on the router's HA network (1-254: 169.254.0.<vrid> is the primary VIP) */
  vrid: number;
  /** VRRP priority; both instances have the same one (with nopreempt: whoever is master stays master) */
  priority: number;
  /**
   * Seconds between VRRP adverts (VRRPv3: hundredths), the same on both hosts; the backup takes
   * over about 3.8 intervals after the master's last advert. Absent: 0.5.
   */
  advertSeconds?: number;
  /** this host's port on the project's HA network: VRRP runs over it */
  interface: {
    portId: string;
    /** ha-<11 hex of the port id> */
    ifname: string;
    /** the port's address on the HA network with its prefix length, e.g. 169.254.192.5/18 */
    address: string;
  };
}

/** VRRPv3's advert interval, in hundredths of a second from 0.05 s (keepalived's range goes to 40.95 s). */
export const haAdvertSeconds = z
  .number()
  .min(0.05)
  .max(40)
  .refine((s) => Math.abs(s * 100 - Math.round(s * 100)) < 1e-9, 'must be in hundredths of a second');

/** The lowest and highest VRID: 169.254.0.<vrid>/24 must be a host address. */
export const HA_VRID_MIN = 1;
export const HA_VRID_MAX = 254;
/** What the HA port's interface in a router namespace starts with. */
export const HA_INTERFACE_PREFIX = 'ha-';

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
  ha: z
    .object({
      vrid: z.number().int().min(HA_VRID_MIN).max(HA_VRID_MAX),
      priority: z.number().int().min(1).max(254),
      advertSeconds: haAdvertSeconds.optional(),
      interface: z.object({
        portId: Id,
        ifname: z
          .string()
          .refine(isValidLinkName, 'must be an interface name')
          .refine((name) => name.startsWith(HA_INTERFACE_PREFIX), `must start with ${HA_INTERFACE_PREFIX}`),
        address: Cidr,
      }),
    })
    .nullable()
    .optional(),
});

/** `qrouter-<first 8 hex digits of the router id>`, as Neutron names them. */
export function routerNamespace(routerId: string): string {
  return `qrouter-${routerId.replace(/-/g, '').slice(0, 8)}`;
}

/** Interface names of router ports inside the namespace: qr-/qg- plus 11 characters of the port id. */
export function routerInterfaceName(kind: 'internal' | 'gateway', portId: string): string {
  return `${kind === 'internal' ? 'qr' : 'qg'}-${portId.replace(/-/g, '').slice(0, 11)}`;
}

/** The HA port's interface in a router namespace: ha- plus 11 characters of the port id, as Neutron names it. */
export function haInterfaceName(portId: string): string {
  return `${HA_INTERFACE_PREFIX}${portId.replace(/-/g, '').slice(0, 11)}`;
}

/** What every router namespace name starts with (Neutron's prefix). */
export const ROUTER_NAMESPACE_PREFIX = 'qrouter-';

/** One floating IP on its own, so the planner can refuse a bad one without refusing its router. */
export const FloatingIpIntentSchema: z.ZodType<FloatingIpIntent> = z.object({ id: Id, floatingIp: Ip, fixedIp: Ip });
