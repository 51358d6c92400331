import { DESIRED_KINDS, desiredKey, haInterfaceName, type Naming, type RouterHaIntent } from '@ncp/contracts';
import { DesiredStatePublisher, type NatsConnection } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { routerIntent, type LearnedRouteFacts, type SubnetFacts } from '../domain/router-intent';
import { type L3Prisma } from '../infrastructure/prisma';

/** The VRRP priority of both instances of an HA router (Neutron's): with nopreempt, the master stays master. */
export const HA_PRIORITY = 50;

/**
 * Every scheduled router's intent, keyed `<row>.<host>.router.<id>`, from L3's projection: an
 * HA router's to each of its hosts, each with that host's HA port.
 */
export async function routerIntents(prisma: L3Prisma, haAdvertSeconds: number): Promise<Map<string, string>> {
  const routers = await prisma.router.findMany({
    where: { OR: [{ host: { not: null } }, { haVrid: { not: null }, haHosts: { some: {} } }] },
    // interfaces in an order of their own, as the floating IPs (see routerIntent)
    include: { interfaces: { orderBy: { portId: 'asc' } }, haHosts: true },
  });
  const fips = await prisma.floatingIp.findMany({ where: { routerId: { not: null } } });
  const haPortIds = routers.flatMap((r) => r.haHosts.map((h) => h.haPortId));
  const haPorts = new Map((await prisma.ipamPort.findMany({ where: { id: { in: haPortIds } } })).map((p) => [p.id, p]));
  const subnetIds = new Set<string>();
  for (const p of haPorts.values()) for (const f of p.fixedIps as { subnetId: string }[]) subnetIds.add(f.subnetId);
  for (const r of routers) {
    for (const f of r.gatewayFixedIps as { subnetId: string }[]) subnetIds.add(f.subnetId);
    for (const i of r.interfaces) for (const f of i.fixedIps as { subnetId: string }[]) subnetIds.add(f.subnetId);
  }
  const subnets = new Map<string, SubnetFacts>((await prisma.ipamSubnet.findMany({ where: { id: { in: [...subnetIds] } } })).map((s) => [s.id, s]));
  const learnedOn = await learnedRoutesByNetwork(prisma);
  const wanted = new Map<string, string>();
  for (const r of routers) {
    const intent = routerIntent(
      {
        id: r.id,
        adminStateUp: r.adminStateUp,
        enableSnat: r.enableSnat,
        natExclusions: r.natExclusions,
        routes: r.routes as { destination: string; nexthop: string }[],
        gateway: r.gatewayPortId ? { portId: r.gatewayPortId, fixedIps: r.gatewayFixedIps as { subnetId: string; ipAddress: string }[] } : null,
        interfaces: r.interfaces.map((i) => ({ portId: i.portId, fixedIps: i.fixedIps as { subnetId: string; ipAddress: string }[] })),
        floatingIps: fips
          .filter((f) => f.routerId === r.id && f.fixedIpAddress !== null)
          .map((f) => ({ id: f.id, floatingIpAddress: f.floatingIpAddress, fixedIpAddress: f.fixedIpAddress ?? '' })),
        learnedRoutes: r.gatewayNetworkId === null ? [] : (learnedOn.get(r.gatewayNetworkId) ?? []),
      },
      subnets,
    );
    if (r.ha && r.haVrid !== null) {
      for (const h of r.haHosts) {
        const haFixedIps = haPorts.get(h.haPortId)?.fixedIps as { subnetId: string; ipAddress: string }[] | undefined;
        const ha = haIntent(r.haVrid, h.haPortId, haFixedIps, subnets, haAdvertSeconds);
        // an HA port IPAM has not given an address yet: that host's instance waits for it
        if (ha !== null) wanted.set(desiredKey(h.row, h.host, DESIRED_KINDS.router, r.id), JSON.stringify({ ...intent, ha }));
      }
    } else if (r.host !== null && r.row !== null) {
      wanted.set(desiredKey(r.row, r.host, DESIRED_KINDS.router, r.id), JSON.stringify(intent));
    }
  }
  return wanted;
}

/** What the BGP speakers bound to each gateway network learned (L3's copy of BGP's events), by network. */
async function learnedRoutesByNetwork(prisma: L3Prisma): Promise<Map<string, LearnedRouteFacts[]>> {
  const [speakers, learned] = await Promise.all([prisma.bgpSpeaker.findMany(), prisma.bgpLearnedRoute.findMany()]);
  const bySpeaker = new Map<string, LearnedRouteFacts[]>();
  for (const r of learned) {
    const route = {
      destination: r.destination,
      nextHop: r.nextHop,
      asPathLength: r.asPathLength,
      med: r.med === null ? null : Number(r.med),
      localPref: r.localPref === null ? null : Number(r.localPref),
    };
    bySpeaker.set(r.speakerId, [...(bySpeaker.get(r.speakerId) ?? []), route]);
  }
  const byNetwork = new Map<string, LearnedRouteFacts[]>();
  for (const s of speakers) {
    const routes = bySpeaker.get(s.id) ?? [];
    if (routes.length === 0) continue;
    for (const n of s.networkIds) byNetwork.set(n, [...(byNetwork.get(n) ?? []), ...routes]);
  }
  return byNetwork;
}

/** `haAdvertSeconds`: the VRRP advert interval of every HA router (L3_HA_ADVERT_SECONDS), the same on both its hosts. */
export function routerIntentPublisher(nc: NatsConnection, naming: Naming, prisma: L3Prisma, logger: Logger, haAdvertSeconds: number): DesiredStatePublisher {
  return new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.router], () => routerIntents(prisma, haAdvertSeconds), logger);
}

/** One host's HA part of a router's intent: its HA port's IPv4 address on the HA subnet. */
export function haIntent(
  vrid: number,
  portId: string,
  fixedIps: readonly { subnetId: string; ipAddress: string }[] | undefined,
  subnets: ReadonlyMap<string, SubnetFacts>,
  advertSeconds: number,
): RouterHaIntent | null {
  const f = (fixedIps ?? []).find((x) => subnets.get(x.subnetId)?.ipVersion === 4);
  const subnet = f ? subnets.get(f.subnetId) : undefined;
  if (!f || !subnet) return null;
  return {
    vrid,
    priority: HA_PRIORITY,
    advertSeconds,
    interface: { portId, ifname: haInterfaceName(portId), address: `${f.ipAddress}/${subnet.cidr.split('/')[1] ?? '32'}` },
  };
}
