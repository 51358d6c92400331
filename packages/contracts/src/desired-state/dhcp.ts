import { cidrContainsIp, isValidIp, parseCidr, parseIp } from '@ncp/netaddr';
import { z } from 'zod';
import { isValidId, isValidLinkName, isValidNetnsName } from './names';

/**
 * Desired state of one DHCP server (one per network, on the host it is scheduled to) and of
 * the router advertisements of one router. The DHCP port is plugged by the L2 driver like any
 * port (a veth end named `ifname` in `namespace`, with the port's MAC); the DHCP driver puts
 * the port's addresses on it and runs dnsmasq there. RAs are sent by radvd in the router's
 * namespace on its `qr-` interfaces, which the L2 and L3 drivers have set up.
 */

/** How a subnet is served: DHCPv4, or Neutron's IPv6 address modes that involve DHCPv6. */
export type DhcpSubnetMode = 'dhcpv4' | 'dhcpv6-stateful' | 'dhcpv6-stateless';

export interface DhcpSubnetIntent {
  id: string;
  mode: DhcpSubnetMode;
  /** e.g. 10.0.0.0/24, 2001:db8:cafe:1::/64 */
  cidr: string;
  /** IPv4: the router option; none when null. Not used for IPv6 (RAs carry the router). */
  gatewayIp: string | null;
  dnsNameservers: string[];
  /** IPv4 only: classless static routes (option 121); the default route is added by the renderer */
  hostRoutes: { destination: string; nexthop: string }[];
}

export interface DhcpExtraOption {
  /** a dnsmasq option name (`tftp-server`, `bootfile-name`) or number (`150`) */
  name: string;
  value: string;
  ipVersion: 4 | 6;
}

/** One port of the network that gets a static lease. */
export interface DhcpHostIntent {
  portId: string;
  macAddress: string;
  /** hostname handed out (without the domain) */
  hostname: string;
  /** the port's addresses on the served subnets (DHCPv4 and DHCPv6-stateful only) */
  ipAddresses: string[];
  extraOptions: DhcpExtraOption[];
}

export interface DhcpServerIntent {
  networkId: string;
  /** qdhcp-<first 8 hex of the network id> */
  namespace: string;
  /** the DHCP port's interface in the namespace */
  ifname: string;
  /** the DHCP port */
  portId: string;
  /** the DHCP port's addresses with the prefix length of their subnet, e.g. 10.0.0.2/24 */
  addresses: string[];
  /** the network's MTU (option 26) */
  mtu: number;
  /** DNS domain handed out (option 15, DHCPv6 domain search) */
  domain: string;
  leaseSeconds: number;
  subnets: DhcpSubnetIntent[];
  hosts: DhcpHostIntent[];
}

export interface RaPrefixIntent {
  cidr: string;
  /** SLAAC allowed (A flag): slaac and dhcpv6-stateless, not dhcpv6-stateful */
  autonomous: boolean;
}

export interface RaInterfaceIntent {
  /** the qr- interface */
  ifname: string;
  /**
   * The router port's own link-local address, fe80::/64 with the EUI-64 of the port's MAC (what
   * the kernel forms for the interface, and what workloads and Neutron take as the router's
   * address). radvd sends from it alone: by default it takes the first link-local address it
   * lists, which is whichever was added last (fe80::a9fe:a9fe, for metadata, on a qr-).
   */
  sourceAddress: string;
  /** M flag: addresses from DHCPv6 (dhcpv6-stateful) */
  managed: boolean;
  /** O flag: other configuration from DHCPv6 (dhcpv6-stateful and dhcpv6-stateless) */
  otherConfig: boolean;
  mtu: number;
  prefixes: RaPrefixIntent[];
  /** RDNSS option, from the subnets' dns_nameservers (IPv6 ones) */
  rdnss: string[];
}

export interface RaIntent {
  routerId: string;
  /** qrouter-<first 8 hex of the router id> */
  namespace: string;
  /** seconds (AdvDefaultLifetime) */
  routerLifetime: number;
  /** seconds (AdvValidLifetime of every prefix) */
  validLifetime: number;
  /** seconds (AdvPreferredLifetime of every prefix) */
  preferredLifetime: number;
  /** seconds between unsolicited advertisements */
  minInterval: number;
  maxInterval: number;
  interfaces: RaInterfaceIntent[];
}

const Id = z.string().refine(isValidId, 'must be a UUID');
const LINK_LOCAL = parseCidr('fe80::/64');
const isLinkLocal = (ip: string): boolean => {
  if (!isValidIp(ip)) return false;
  const parsed = parseIp(ip);
  return parsed.version === 6 && cidrContainsIp(LINK_LOCAL, parsed);
};
const Ip = z.string().refine(isValidIp, 'must be an IP address');
const Cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'must be a CIDR');
const Mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'must be a lower-case MAC address');
const Netns = z.string().refine(isValidNetnsName, 'must be a namespace name');
const Link = z.string().refine(isValidLinkName, 'must be an interface name');
/** Handed to dnsmasq in its files: nothing that could start another field or line. */
const OptionText = z.string().regex(/^[^\n\r,]*$/, 'must not contain commas or line breaks');
const Hostname = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/, 'must be a host name label');
const Domain = z.string().regex(/^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'must be a domain name');
const Seconds = z.number().int().min(0).max(4294967295);

/** One host line; exported so a renderer can refuse one bad port without failing the server. */
export const DhcpHostIntentSchema: z.ZodType<DhcpHostIntent> = z.object({
  portId: Id,
  macAddress: Mac,
  hostname: Hostname,
  ipAddresses: z.array(Ip),
  extraOptions: z.array(
    z.object({
      name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a dnsmasq option name or number'),
      value: OptionText.max(255),
      ipVersion: z.union([z.literal(4), z.literal(6)]),
    }),
  ),
});

export const DhcpServerIntentSchema: z.ZodType<DhcpServerIntent> = z.object({
  networkId: Id,
  namespace: Netns,
  ifname: Link,
  portId: Id,
  addresses: z.array(Cidr),
  mtu: z.number().int().min(68).max(65535),
  domain: Domain,
  leaseSeconds: z.number().int().min(120).max(4294967295),
  subnets: z.array(
    z.object({
      id: Id,
      mode: z.enum(['dhcpv4', 'dhcpv6-stateful', 'dhcpv6-stateless']),
      cidr: Cidr,
      gatewayIp: Ip.nullable(),
      dnsNameservers: z.array(Ip),
      hostRoutes: z.array(z.object({ destination: Cidr, nexthop: Ip })),
    }),
  ),
  hosts: z.array(DhcpHostIntentSchema),
});

export const RaIntentSchema: z.ZodType<RaIntent> = z.object({
  routerId: Id,
  namespace: Netns,
  routerLifetime: z.number().int().min(0).max(9000),
  validLifetime: Seconds,
  preferredLifetime: Seconds,
  minInterval: z.number().int().min(3).max(1350),
  maxInterval: z.number().int().min(4).max(1800),
  interfaces: z.array(
    z.object({
      ifname: Link,
      sourceAddress: z.string().refine(isLinkLocal, 'must be an IPv6 link-local address (fe80::/64)'),
      managed: z.boolean(),
      otherConfig: z.boolean(),
      mtu: z.number().int().min(1280).max(65535),
      prefixes: z.array(z.object({ cidr: Cidr, autonomous: z.boolean() })),
      rdnss: z.array(Ip),
    }),
  ),
});

/** `qdhcp-<first 8 hex digits of the network id>`, as Neutron names them. */
export function dhcpNamespace(networkId: string): string {
  return `qdhcp-${networkId.replace(/-/g, '').slice(0, 8)}`;
}

/** The DHCP port's interface inside its namespace: `ns-` plus 11 characters of the network id. */
export function dhcpInterfaceName(networkId: string): string {
  return `ns-${networkId.replace(/-/g, '').slice(0, 11)}`;
}

/** What every DHCP namespace name starts with (Neutron's prefix). */
export const DHCP_NAMESPACE_PREFIX = 'qdhcp-';
