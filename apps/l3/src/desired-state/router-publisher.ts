import {
  DESIRED_KINDS,
  desiredKey,
  haInterfaceName,
  parseDesiredKey,
  type IpamEventOf,
  type L3EventOf,
  type Naming,
  type RecordedEvent,
  type RouterHaIntent,
} from '@ncp/contracts';
import { DesiredStatePublisher, type DesiredScope, type NatsConnection } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { HA_PORT_OWNER } from '../application/placement';
import { routerIntent, type LearnedRouteFacts, type SubnetFacts } from '../domain/router-intent';
import { type L3Prisma } from '../infrastructure/prisma';

/** The VRRP priority of both instances of an HA router (Neutron's): with nopreempt, the master stays master. */
export const HA_PRIORITY = 50;

/**
 * The intent of every scheduled router in `scope` (router ids), keyed `<row>.<host>.router.<id>`,
 * from L3's projection: an HA router's to each of its hosts, each with that host's HA port.
 * `onFloatingIp` is told the router of each floating IP in an intent.
 */
export async function routerIntents(
  prisma: L3Prisma,
  haAdvertSeconds: number,
  scope: DesiredScope = 'all',
  onFloatingIp: (floatingIpId: string, routerId: string) => void = () => undefined,
): Promise<Map<string, string>> {
  const inScope = scope === 'all' ? {} : { id: { in: [...scope] } };
  const routers = await prisma.router.findMany({
    where: { AND: [inScope, { OR: [{ host: { not: null } }, { haVrid: { not: null }, haHosts: { some: {} } }] }] },
    // interfaces in an order of their own, as the floating IPs (see routerIntent)
    include: { interfaces: { orderBy: { portId: 'asc' } }, haHosts: true },
  });
  const fips = await prisma.floatingIp.findMany({ where: { routerId: scope === 'all' ? { not: null } : { in: routers.map((r) => r.id) } } });
  for (const f of fips) if (f.routerId !== null) onFloatingIp(f.id, f.routerId);
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

/** A router's entries (one per host of an HA router) are made of its own rows: recomputed when something of it changed. */
const routerPartitionOf = (key: string): string | undefined => parseDesiredKey(key)?.id;

/** L3's aggregates no intent shows: quota usage, the fixed IPs' claims, the HA networks and VRIDs (a router's own events carry its VRID). */
const UNSHOWN_L3 = new Set(['usage', 'registry', 'hanetwork']);
/** Events of the router aggregate that no intent shows (what the agents reported). */
const REPORTS = new Set(['RouterStatusChanged', 'RouterHaStateChanged']);
/** The IPAM events of ports an intent may show: HA ports' (their address on the HA network). */
const portMayShow = (e: RecordedEvent): boolean => {
  switch (e.envelope.type) {
    case 'PortStatusChanged':
      return false;
    case 'PortCreated':
      return (e.envelope.data as IpamEventOf<'PortCreated'>['data']).deviceOwner === HA_PORT_OWNER;
    case 'PortUpdated': {
      const { changes } = e.envelope.data as IpamEventOf<'PortUpdated'>['data'];
      return changes.fixedIps !== undefined || changes.deviceOwner !== undefined;
    }
    default:
      return true;
  }
};

/**
 * What of L3's projection moves router intents: a router's own events (its interfaces, gateway,
 * routes, hosts, floating IPs attached), a floating IP's (its router's intent lists it) and
 * IPAM's subnets and HA ports. `routersChangedBy` maps a batch of events to the routers whose
 * intents they may change, or undefined when it cannot tell (then all are recomputed): a
 * floating IP recomputed every router of the cloud, and every port created ran a pass.
 */
export class RouterIntents {
  /** the router each floating IP was last on, from the intents computed and the associations seen */
  private readonly routerOfFloatingIp = new Map<string, string>();

  constructor(
    private readonly naming: Naming,
    private readonly prisma: L3Prisma,
    private readonly haAdvertSeconds: number,
  ) {}

  compute(scope: DesiredScope): Promise<Map<string, string>> {
    return routerIntents(this.prisma, this.haAdvertSeconds, scope, (fip, router) => this.routerOfFloatingIp.set(fip, router));
  }

  routersChangedBy(events: readonly RecordedEvent[]): Set<string> | undefined {
    const routers = new Set<string>();
    for (const e of events) {
      const { context, aggregate, id } = this.naming.parseEventSubject(e.subject);
      if (context === 'l3' && aggregate === 'router') {
        if (!REPORTS.has(e.envelope.type)) routers.add(id);
      } else if (context === 'l3' && aggregate === 'floatingip') {
        const before = this.routerOfFloatingIp.get(id);
        if (before !== undefined) routers.add(before);
        if (e.envelope.type === 'FloatingIpDeleted') this.routerOfFloatingIp.delete(id);
        if (e.envelope.type === 'FloatingIpAssociated') {
          const { routerId } = e.envelope.data as L3EventOf<'FloatingIpAssociated'>['data'];
          routers.add(routerId);
          this.routerOfFloatingIp.set(id, routerId);
        }
      } else if (context === 'ipam' && aggregate === 'network') {
        // a port deleted lets go of its floating IPs, whose routers are not known here
        if (portMayShow(e)) return undefined;
      } else if (!(context === 'agent' || (context === 'ipam' && aggregate === 'quota') || (context === 'l3' && UNSHOWN_L3.has(aggregate)))) {
        // BGP's learned routes, anything new: every router
        return undefined;
      }
    }
    return routers;
  }
}

/** `haAdvertSeconds`: the VRRP advert interval of every HA router (L3_HA_ADVERT_SECONDS), the same on both its hosts. */
export function routerIntentPublisher(nc: NatsConnection, naming: Naming, intents: RouterIntents, logger: Logger): DesiredStatePublisher {
  return new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.router], (scope) => intents.compute(scope), logger, { partitionOf: routerPartitionOf });
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
