import { formatIp, parseIp } from '@ncp/netaddr';

/**
 * What a BGP speaker advertises, decided from L3's and IPAM's facts alone (Neutron's
 * dynamic-routing rules, scope-aware): a pure function, so `get_advertised_routes` and the
 * agents' BIRD configuration come from the same decision.
 */

export interface SpeakerFacts {
  /** null: both families (beyond Neutron, one speaker may serve IPv4 and IPv6) */
  readonly ipVersion: 4 | 6 | null;
  readonly advertiseTenantNetworks: boolean;
  readonly advertiseFloatingIpHostRoutes: boolean;
  /** the gateway (external) networks the speaker is bound to */
  readonly networkIds: readonly string[];
}

export interface RouterFacts {
  readonly id: string;
  readonly gateway: { readonly networkId: string; readonly fixedIps: readonly { subnetId: string; ipAddress: string }[] } | null;
  readonly interfaceSubnetIds: readonly string[];
}

export interface SubnetFacts {
  readonly id: string;
  readonly ipVersion: number;
  readonly cidr: string;
  readonly addressScopeId: string | null;
}

export interface FloatingIpFacts {
  readonly floatingIpAddress: string;
  readonly floatingNetworkId: string;
  readonly routerId: string | null;
  readonly fixedIpAddress: string | null;
}

export interface AdvertisedRoute {
  readonly destination: string;
  readonly nextHop: string;
}

/**
 * For every router whose gateway is on one of the speaker's networks, next hop = the router's
 * gateway address of the route's family:
 * - each tenant subnet on the router in the same address scope as the gateway's subnet (the
 *   routed, un-NATed case; a subnet in another scope, or in none, is never advertised);
 * - each associated floating IP on that network, as a host route (/32, /128).
 */
export function advertisedRoutes(
  speaker: SpeakerFacts,
  routers: readonly RouterFacts[],
  subnets: ReadonlyMap<string, SubnetFacts>,
  floatingIps: readonly FloatingIpFacts[],
): AdvertisedRoute[] {
  const routes = new Map<string, AdvertisedRoute>();
  const add = (destination: string, nextHop: string) => routes.set(`${destination}|${nextHop}`, { destination, nextHop });
  const familyAllowed = (version: number) => speaker.ipVersion === null || speaker.ipVersion === version;
  for (const router of routers) {
    const gateway = router.gateway;
    if (gateway === null || !speaker.networkIds.includes(gateway.networkId)) continue;
    for (const g of gateway.fixedIps) {
      const gatewaySubnet = subnets.get(g.subnetId);
      if (!gatewaySubnet || !familyAllowed(gatewaySubnet.ipVersion)) continue;
      const nextHop = normalise(g.ipAddress);
      if (speaker.advertiseTenantNetworks && gatewaySubnet.addressScopeId !== null) {
        for (const id of router.interfaceSubnetIds) {
          const s = subnets.get(id);
          if (s && s.ipVersion === gatewaySubnet.ipVersion && s.addressScopeId === gatewaySubnet.addressScopeId) add(s.cidr, nextHop);
        }
      }
      if (speaker.advertiseFloatingIpHostRoutes) {
        for (const f of floatingIps) {
          if (f.routerId !== router.id || f.fixedIpAddress === null || f.floatingNetworkId !== gateway.networkId) continue;
          const ip = parseIp(f.floatingIpAddress);
          if (ip.version !== gatewaySubnet.ipVersion) continue;
          add(`${formatIp(ip.version, ip.value)}/${ip.version === 4 ? 32 : 128}`, nextHop);
        }
      }
    }
  }
  return [...routes.values()].sort((a, b) => a.destination.localeCompare(b.destination) || a.nextHop.localeCompare(b.nextHop));
}

function normalise(ip: string): string {
  const parsed = parseIp(ip);
  return formatIp(parsed.version, parsed.value);
}
