import {
  dhcpInterfaceName,
  dhcpNamespace,
  type DhcpHostIntent,
  type DhcpServerIntent,
  type DhcpSubnetMode,
  type RaIntent,
  type RaInterfaceIntent,
} from '@ncp/contracts';
import { eui64Address, formatIp, parseCidr, parseIp } from '@ncp/netaddr';

/**
 * What DHCP servers and router advertisements hand out, decided from IPAM's facts alone:
 * pure functions, so the agent gets the same intent from any replay of the same events.
 */

export interface NetworkFacts {
  readonly id: string;
  readonly name: string;
  readonly mtu: number;
  readonly networkType: string;
  readonly physicalNetwork: string | null;
}

export interface SubnetFacts {
  readonly id: string;
  readonly networkId: string;
  readonly ipVersion: number;
  readonly cidr: string;
  readonly gatewayIp: string | null;
  readonly enableDhcp: boolean;
  readonly ipv6RaMode: string | null;
  readonly ipv6AddressMode: string | null;
  readonly dnsNameservers: readonly string[];
  readonly hostRoutes: readonly { destination: string; nexthop: string }[];
}

export interface PortFacts {
  readonly id: string;
  readonly networkId: string;
  readonly macAddress: string;
  readonly adminStateUp: boolean;
  readonly deviceOwner: string;
  readonly deviceId: string;
  readonly bindingHostId: string;
  readonly bindingProfile: Readonly<Record<string, unknown>>;
  readonly fixedIps: readonly { subnetId: string; ipAddress: string }[];
  readonly extraDhcpOpts: readonly { optName: string; optValue: string; ipVersion: number }[];
}

export interface DhcpSettings {
  readonly domain: string;
  readonly leaseSeconds: number;
}

export interface RaSettings {
  readonly routerLifetime: number;
  readonly validLifetime: number;
  readonly preferredLifetime: number;
  readonly minInterval: number;
  readonly maxInterval: number;
}

export const DHCP_DEVICE_OWNER = 'network:dhcp';
/** The device owners of a router's interfaces (RAs are sent from them). */
export const ROUTER_INTERFACE_OWNERS: ReadonlySet<string> = new Set([
  'network:router_interface',
  'network:router_interface_distributed',
  'network:ha_router_replicated_interface',
]);

/** The DHCP port's device_id: one per network, whichever host serves it (a move re-binds it). */
export function dhcpDeviceId(networkId: string): string {
  return `dhcp-${networkId}`;
}

/**
 * How dnsmasq serves a subnet, or null when it does not: DHCPv4 on enable_dhcp IPv4 subnets;
 * on IPv6 the address mode decides (SLAAC needs only RAs, which radvd sends).
 */
export function servedMode(subnet: SubnetFacts): DhcpSubnetMode | null {
  if (!subnet.enableDhcp) return null;
  if (subnet.ipVersion === 4) return 'dhcpv4';
  if (subnet.ipv6AddressMode === 'dhcpv6-stateful') return 'dhcpv6-stateful';
  if (subnet.ipv6AddressMode === 'dhcpv6-stateless') return 'dhcpv6-stateless';
  return null;
}

export function needsDhcpServer(subnets: readonly SubnetFacts[]): boolean {
  return subnets.some((s) => servedMode(s) !== null);
}

/**
 * The served subnets the DHCP port has no address on (dnsmasq answers a subnet only from an
 * interface with an address in it): a subnet added after the server started.
 */
export function subnetsMissingFromDhcpPort(fixedIps: PortFacts['fixedIps'], subnets: readonly SubnetFacts[]): string[] {
  return subnets.filter((s) => servedMode(s) !== null && !fixedIps.some((f) => f.subnetId === s.id)).map((s) => s.id);
}

/** A network's DHCP server as the projection shows it. */
export interface ServerFacts {
  readonly host: string | null;
  readonly pinned: boolean;
  readonly portId: string | null;
}

/**
 * Whether a network's DHCP server is as it should be, as the projection shows it, so that a
 * placement pass has nothing to do for it: none where no subnet needs one (and no DHCP port
 * left); where one is needed, one on a live agent (or pinned to one), with its port bound there
 * and addressed on every served subnet. `ports`: the network's DHCP-owned ports.
 */
export function dhcpServerSettled(
  networkId: string,
  subnets: readonly SubnetFacts[],
  server: ServerFacts | undefined,
  ports: readonly PortFacts[],
  isAlive: (host: string) => boolean,
): boolean {
  if (!needsDhcpServer(subnets))
    return server === undefined || (server.host === null && server.portId === null && !ports.some((p) => p.deviceId === dhcpDeviceId(networkId)));
  if (!server || server.host === null || (!server.pinned && !isAlive(server.host))) return false;
  const port = ports.find((p) => p.id === server.portId);
  return port !== undefined && port.bindingHostId === server.host && subnetsMissingFromDhcpPort(port.fixedIps, subnets).length === 0;
}

const prefixLength = (cidr: string) => parseCidr(cidr).prefixLength;
const versionOf = (ip: string) => {
  try {
    return parseIp(ip).version;
  } catch {
    return null;
  }
};

/** Neutron's default host name, from the port's first address: 10.0.0.5 -> host-10-0-0-5. */
export function defaultHostname(ipAddress: string): string {
  return `host-${ipAddress.replace(/[.:]/g, '-')}`.replace(/-+$/, '');
}

export function dhcpServerIntent(
  network: NetworkFacts,
  subnets: readonly SubnetFacts[],
  ports: readonly PortFacts[],
  dhcpPort: PortFacts,
  settings: DhcpSettings,
): DhcpServerIntent {
  const served = subnets.flatMap((s) => {
    const mode = servedMode(s);
    return mode === null ? [] : [{ subnet: s, mode }];
  });
  const subnetById = new Map(subnets.map((s) => [s.id, s]));
  const leaseSubnets = new Set(served.filter((s) => s.mode !== 'dhcpv6-stateless').map((s) => s.subnet.id));
  const hosts: DhcpHostIntent[] = [];
  for (const p of ports) {
    if (p.id === dhcpPort.id || p.deviceOwner === DHCP_DEVICE_OWNER) continue;
    const ipAddresses = p.fixedIps.filter((f) => leaseSubnets.has(f.subnetId)).map((f) => f.ipAddress);
    const first = p.fixedIps.find((f) => subnetById.get(f.subnetId)?.ipVersion === 4) ?? p.fixedIps[0];
    if (ipAddresses.length === 0 || first === undefined) continue;
    hosts.push({
      portId: p.id,
      macAddress: p.macAddress.toLowerCase(),
      hostname: defaultHostname(first.ipAddress),
      ipAddresses,
      extraOptions: p.extraDhcpOpts.map((o) => ({ name: o.optName, value: o.optValue, ipVersion: o.ipVersion === 6 ? 6 : 4 })),
    });
  }
  return {
    networkId: network.id,
    namespace: dhcpNamespace(network.id),
    ifname: dhcpInterfaceName(network.id),
    portId: dhcpPort.id,
    addresses: dhcpPort.fixedIps.flatMap((f) => {
      const s = subnetById.get(f.subnetId);
      return s ? [`${f.ipAddress}/${prefixLength(s.cidr)}`] : [];
    }),
    mtu: network.mtu,
    domain: settings.domain,
    leaseSeconds: settings.leaseSeconds,
    subnets: served.map(({ subnet: s, mode }) => ({
      id: s.id,
      mode,
      cidr: s.cidr,
      gatewayIp: s.ipVersion === 4 ? s.gatewayIp : null,
      dnsNameservers: s.dnsNameservers.filter((d) => versionOf(d) === s.ipVersion),
      hostRoutes: s.ipVersion === 4 ? [...s.hostRoutes.filter((r) => versionOf(r.nexthop) === 4), ...isolatedMetadataRoute(s, ports, dhcpPort)] : [],
    })),
    hosts: hosts.sort((a, b) => a.portId.localeCompare(b.portId)),
  };
}

/** Where instances reach the metadata service (169.254.169.254:80 and [fe80::a9fe:a9fe]:80). */
export const METADATA_ROUTE_DESTINATION = '169.254.169.254/32';

/**
 * Neutron's isolated metadata: on an IPv4 subnet that no router is attached to, the metadata
 * proxy runs in the DHCP namespace, so the lease routes 169.254.169.254 via the DHCP port's
 * address (option 121). With a router, the default route already leads to its proxy.
 */
function isolatedMetadataRoute(subnet: SubnetFacts, ports: readonly PortFacts[], dhcpPort: PortFacts): { destination: string; nexthop: string }[] {
  const routed = ports.some((p) => ROUTER_INTERFACE_OWNERS.has(p.deviceOwner) && p.fixedIps.some((f) => f.subnetId === subnet.id));
  const dhcpAddress = dhcpPort.fixedIps.find((f) => f.subnetId === subnet.id)?.ipAddress;
  return routed || dhcpAddress === undefined ? [] : [{ destination: METADATA_ROUTE_DESTINATION, nexthop: dhcpAddress }];
}

/** Where a port's own link-local address is: fe80::/64 and the EUI-64 of its MAC (RFC 4862 5.3). */
const LINK_LOCAL = parseCidr('fe80::/64');

/** One router's advertisements on the host its interfaces are bound to. */
export interface PlacedRaIntent {
  readonly host: string;
  readonly intent: RaIntent;
}

/**
 * Router advertisements of every router interface on an IPv6 subnet with an ipv6_ra_mode, in
 * Neutron's matrix: slaac -> prefix autonomous; dhcpv6-stateless -> autonomous + O flag;
 * dhcpv6-stateful -> not autonomous, M and O flags. Without ra_mode an upstream router sends
 * the RAs, so we send none. Each interface advertises from its port's own link-local address,
 * the workloads' default router (as in Neutron), whatever else the interface holds.
 */
export function raIntents(
  ports: readonly PortFacts[],
  subnets: ReadonlyMap<string, SubnetFacts>,
  networks: ReadonlyMap<string, NetworkFacts>,
  settings: RaSettings,
): PlacedRaIntent[] {
  const routers = new Map<string, { host: string; routerId: string; namespace: string; interfaces: RaInterfaceIntent[] }>();
  for (const p of ports) {
    if (!ROUTER_INTERFACE_OWNERS.has(p.deviceOwner) || p.bindingHostId === '' || p.deviceId === '') continue;
    const { netns, ifname } = p.bindingProfile;
    if (typeof netns !== 'string' || typeof ifname !== 'string') continue;
    const raSubnets = p.fixedIps.flatMap((f) => {
      const s = subnets.get(f.subnetId);
      return s && s.ipVersion === 6 && s.ipv6RaMode !== null ? [s] : [];
    });
    if (raSubnets.length === 0) continue;
    const unique = [...new Map(raSubnets.map((s) => [s.id, s])).values()];
    const key = `${p.bindingHostId}|${p.deviceId}`;
    const router = routers.get(key) ?? { host: p.bindingHostId, routerId: p.deviceId, namespace: netns, interfaces: [] };
    routers.set(key, router);
    router.interfaces.push({
      ifname,
      sourceAddress: formatIp(6, eui64Address(LINK_LOCAL, p.macAddress)),
      managed: unique.some((s) => s.ipv6RaMode === 'dhcpv6-stateful'),
      otherConfig: unique.some((s) => s.ipv6RaMode === 'dhcpv6-stateful' || s.ipv6RaMode === 'dhcpv6-stateless'),
      mtu: Math.max(1280, networks.get(p.networkId)?.mtu ?? 1500),
      prefixes: unique.map((s) => ({ cidr: s.cidr, autonomous: s.ipv6RaMode !== 'dhcpv6-stateful' })),
      rdnss: [...new Set(unique.flatMap((s) => s.dnsNameservers.filter((d) => versionOf(d) === 6)))],
    });
  }
  return [...routers.values()]
    .sort((a, b) => a.routerId.localeCompare(b.routerId) || a.host.localeCompare(b.host))
    .map((r) => ({
      host: r.host,
      intent: {
        routerId: r.routerId,
        namespace: r.namespace,
        ...settings,
        interfaces: r.interfaces.sort((a, b) => a.ifname.localeCompare(b.ifname)),
      },
    }));
}
