import { advertisedRoutes, type AdvertisedRoute, type FloatingIpFacts, type RouterFacts, type SubnetFacts } from '../domain/advertised-routes';
import { type BgpSpeaker } from '../generated/prisma/client';
import { type BgpPrisma } from '../infrastructure/prisma';
import { type SpeakerHost } from '../domain/speaker.decider';

type FixedIp = { subnetId: string; ipAddress: string };

/** BGP's copy of L3's and IPAM's facts, read once, for any number of speakers. */
export interface RoutingFacts {
  readonly routers: readonly RouterFacts[];
  readonly subnets: ReadonlyMap<string, SubnetFacts>;
  readonly floatingIps: readonly FloatingIpFacts[];
}

export async function routingFacts(prisma: BgpPrisma): Promise<RoutingFacts> {
  const [routers, interfaces, subnets, floatingIps] = await Promise.all([
    prisma.router.findMany({ where: { gatewayNetworkId: { not: null } } }),
    prisma.routerInterface.findMany(),
    prisma.ipamSubnet.findMany(),
    prisma.floatingIp.findMany({ where: { routerId: { not: null } } }),
  ]);
  const subnetIdsOf = new Map<string, string[]>();
  for (const i of interfaces) subnetIdsOf.set(i.routerId, [...(subnetIdsOf.get(i.routerId) ?? []), ...(i.fixedIps as FixedIp[]).map((f) => f.subnetId)]);
  return {
    routers: routers.map((r) => ({
      id: r.id,
      gateway: r.gatewayNetworkId === null ? null : { networkId: r.gatewayNetworkId, fixedIps: r.gatewayFixedIps as FixedIp[] },
      interfaceSubnetIds: [...new Set(subnetIdsOf.get(r.id) ?? [])],
    })),
    subnets: new Map(subnets.map((s) => [s.id, s])),
    floatingIps,
  };
}

export function routesOfSpeaker(speaker: BgpSpeaker, facts: RoutingFacts): AdvertisedRoute[] {
  return advertisedRoutes(
    {
      ipVersion: speakerIpVersion(speaker),
      advertiseFloatingIpHostRoutes: speaker.advertiseFloatingIpHostRoutes,
      advertiseTenantNetworks: speaker.advertiseTenantNetworks,
      networkIds: speaker.networkIds,
    },
    facts.routers,
    facts.subnets,
    facts.floatingIps,
  );
}

export const speakerIpVersion = (s: Pick<BgpSpeaker, 'ipVersion'>): 4 | 6 | null => (s.ipVersion === 4 || s.ipVersion === 6 ? s.ipVersion : null);
export const speakerHosts = (s: Pick<BgpSpeaker, 'hosts'>): SpeakerHost[] => s.hosts as unknown as SpeakerHost[];
