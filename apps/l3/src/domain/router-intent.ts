import { routerInterfaceName, routerNamespace, type RouterIntent } from '@ncp/contracts';
import { cidrContainsCidr, cidrContainsIp, formatCidr, normalizeIp, parseCidr, parseIp, type Cidr } from '@ncp/netaddr';

/** The facts a router's intent is computed from, as the L3 projection holds them. */
export interface RouterFacts {
  readonly id: string;
  readonly adminStateUp: boolean;
  readonly enableSnat: boolean;
  readonly natExclusions: readonly string[];
  readonly routes: readonly { destination: string; nexthop: string }[];
  readonly gateway: { portId: string; fixedIps: readonly { subnetId: string; ipAddress: string }[] } | null;
  readonly interfaces: readonly { portId: string; fixedIps: readonly { subnetId: string; ipAddress: string }[] }[];
  readonly floatingIps: readonly { id: string; floatingIpAddress: string; fixedIpAddress: string }[];
  /** what the BGP speakers bound to the router's gateway network learned (absent: nothing) */
  readonly learnedRoutes?: readonly LearnedRouteFacts[];
}

/** A route a BGP speaker's session learned (L3's copy of BGP's events), with what multipath compares. */
export interface LearnedRouteFacts {
  readonly destination: string;
  readonly nextHop: string;
  readonly asPathLength: number;
  readonly med: number | null;
  readonly localPref: number | null;
}

export interface SubnetFacts {
  readonly cidr: string;
  readonly ipVersion: number;
  readonly gatewayIp: string | null;
  readonly addressScopeId: string | null;
}

const prefixLength = (cidr: string) => parseCidr(cidr).prefixLength;

/** BGP's defaults for absent attributes: local preference 100, MED 0. */
const LOCAL_PREF_DEFAULT = 100;

/**
 * Which learned routes the router installs (pure): those whose next hop is on the router's
 * gateway subnet of its family (another next hop the router could not reach: ignored) and not
 * the router's own address; not to a destination inside a subnet the router is attached to (its
 * connected routes stay), nor to one of the router's extra routes (the operator's word holds).
 * Per destination, the best paths only (highest local preference, then shortest AS path, then
 * lowest MED), their next hops together: one next hop, or an ECMP route over several (two core
 * routers, both learned by both speaker hosts). Returns destination -> sorted next hops.
 */
export function learnedRoutesToInstall(router: RouterFacts, subnets: ReadonlyMap<string, SubnetFacts>): Map<string, string[]> {
  const learned = router.learnedRoutes ?? [];
  if (router.gateway === null || learned.length === 0) return new Map();
  const cidrsOf = (fixedIps: readonly { subnetId: string }[]) =>
    fixedIps.flatMap((f) => (subnets.has(f.subnetId) ? [parseCidr(subnets.get(f.subnetId)?.cidr ?? '')] : []));
  const gatewaySubnets = cidrsOf(router.gateway.fixedIps);
  const attached = [...gatewaySubnets, ...router.interfaces.flatMap((i) => cidrsOf(i.fixedIps))];
  const own = new Set(router.gateway.fixedIps.map((f) => normalizeIp(f.ipAddress)));
  const extra = new Set(router.routes.flatMap((r) => (isCidr(r.destination) ? [formatCidr(parseCidr(r.destination))] : [])));
  const candidates = new Map<string, LearnedRouteFacts[]>();
  for (const route of learned) {
    let destination: Cidr;
    let hop: string;
    try {
      destination = parseCidr(route.destination, { strict: true });
      const nextHop = parseIp(route.nextHop);
      if (nextHop.version !== destination.version || !gatewaySubnets.some((c) => c.version === nextHop.version && cidrContainsIp(c, nextHop))) continue;
      hop = normalizeIp(route.nextHop);
    } catch {
      continue;
    }
    const key = formatCidr(destination);
    if (own.has(hop) || extra.has(key) || attached.some((c) => c.version === destination.version && cidrContainsCidr(c, destination))) continue;
    candidates.set(key, [...(candidates.get(key) ?? []), { ...route, nextHop: hop }]);
  }
  const installed = new Map<string, string[]>();
  for (const [destination, routes] of candidates) {
    const rank = (r: LearnedRouteFacts) => [-(r.localPref ?? LOCAL_PREF_DEFAULT), r.asPathLength, r.med ?? 0] as const;
    const best = routes.map(rank).reduce((a, b) => (compareRanks(a, b) <= 0 ? a : b));
    const hops = [...new Set(routes.filter((r) => compareRanks(rank(r), best) === 0).map((r) => r.nextHop))];
    installed.set(
      destination,
      hops.sort((a, b) => compareAddresses(a, b)),
    );
  }
  return installed;
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

function compareAddresses(a: string, b: string): number {
  const [x, y] = [parseIp(a).value, parseIp(b).value];
  return x === y ? 0 : x < y ? -1 : 1;
}

function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * What the router's host must build (pure). Routes: the default route of each family through
 * the gateway subnet's gateway, replaced by a learned default route when the BGP speakers of
 * the gateway network learned one (its best next hops, ECMP over several); the router's extra
 * routes; the other learned routes (see `learnedRoutesToInstall`). NAT policy:
 * - no IPv6 NAT (Neutron routes IPv6);
 * - an internal IPv4 subnet in the same address scope as the external subnet is routed
 *   with its own addresses (no NAT: the operator's "avoid NAT" case);
 * - any other internal IPv4 subnet is SNATed to the gateway address when enable_snat,
 *   except towards the router's `nat_exclusions`;
 * - every floating IP is a 1:1 DNAT + SNAT.
 */
export function routerIntent(router: RouterFacts, subnets: ReadonlyMap<string, SubnetFacts>): RouterIntent {
  const addresses = (fixedIps: readonly { subnetId: string; ipAddress: string }[]) =>
    fixedIps.flatMap((f) => {
      const s = subnets.get(f.subnetId);
      return s ? [`${f.ipAddress}/${prefixLength(s.cidr)}`] : [];
    });
  const interfaces: RouterIntent['interfaces'] = router.interfaces.map((i) => ({
    portId: i.portId,
    kind: 'internal',
    ifname: routerInterfaceName('internal', i.portId),
    addresses: addresses(i.fixedIps),
  }));
  const routes: RouterIntent['routes'] = [];
  const learned = learnedRoutesToInstall(router, subnets);
  let gatewayV4: { address: string; scope: string | null } | null = null;
  if (router.gateway) {
    interfaces.push({
      portId: router.gateway.portId,
      kind: 'gateway',
      ifname: routerInterfaceName('gateway', router.gateway.portId),
      addresses: addresses(router.gateway.fixedIps),
    });
    for (const f of router.gateway.fixedIps) {
      const s = subnets.get(f.subnetId);
      if (!s) continue;
      if (s.ipVersion === 4 && gatewayV4 === null) gatewayV4 = { address: f.ipAddress, scope: s.addressScopeId };
      const destination = s.ipVersion === 4 ? '0.0.0.0/0' : '::/0';
      if (routes.some((r) => r.destination === destination)) continue;
      const learnedHops = learned.get(destination);
      if (learnedHops !== undefined) routes.push(...learnedHops.map((nexthop) => ({ destination, nexthop })));
      else if (s.gatewayIp !== null) routes.push({ destination, nexthop: s.gatewayIp });
    }
  }
  routes.push(...router.routes);
  for (const [destination, hops] of learned) {
    if (parseCidr(destination).prefixLength === 0) continue; // the default routes are above
    routes.push(...hops.map((nexthop) => ({ destination, nexthop })));
  }

  const snat: RouterIntent['snat'] = [];
  if (router.enableSnat && gatewayV4 !== null) {
    const exceptDestinations = router.natExclusions.filter((c) => parseCidr(c).version === 4);
    const sources = new Set<string>();
    for (const i of router.interfaces) {
      for (const f of i.fixedIps) {
        const s = subnets.get(f.subnetId);
        if (!s || s.ipVersion !== 4 || sources.has(s.cidr)) continue;
        if (s.addressScopeId !== null && s.addressScopeId === gatewayV4.scope) continue;
        sources.add(s.cidr);
        snat.push({ source: s.cidr, to: gatewayV4.address, exceptDestinations });
      }
    }
  }
  return {
    id: router.id,
    namespace: routerNamespace(router.id),
    adminStateUp: router.adminStateUp,
    interfaces,
    routes,
    snat,
    // by id: rows come in whatever order Postgres keeps them, which an update changes, and an
    // intent that only moved its floating IPs around cost its agent a pass
    floatingIps: router.floatingIps
      .filter((f) => parseIp(f.floatingIpAddress).version === 4)
      .map((f) => ({ id: f.id, floatingIp: f.floatingIpAddress, fixedIp: f.fixedIpAddress }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
}
