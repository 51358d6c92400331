import { MAX_LEARNED_ROUTES_REPORTED, type BgpLearnedRoute } from '@ncp/contracts';
import { cidrContainsCidr, formatCidr, normalizeIp, parseCidr, parseIp, type Cidr } from '@ncp/netaddr';
import { type PeerImportPolicy } from './peer.decider';

/** At most this many routes of one session are kept (what an agent reports of it). */
export const MAX_LEARNED_ROUTES = MAX_LEARNED_ROUTES_REPORTED;

function cidrOf(text: string): Cidr | null {
  try {
    return parseCidr(text, { strict: true });
  } catch {
    return null;
  }
}

/**
 * Of what an agent says a session learned, what the peer's import policy accepts: routes of
 * the peer's family whose next hop is of that family too, the default route only when
 * accepted, others only inside an accepted prefix; in normal form, each (destination, next
 * hop) once, sorted, at most `MAX_LEARNED_ROUTES`. BIRD applies the same policy: this keeps
 * a report made under an older policy (or a misread one) out of the routers. Pure.
 */
export function acceptedRoutes(
  peer: { readonly peerIp: string } & Pick<PeerImportPolicy, 'acceptDefaultRoute' | 'acceptedPrefixes'>,
  routes: readonly BgpLearnedRoute[],
): BgpLearnedRoute[] {
  const version = parseIp(peer.peerIp).version;
  const accepted = peer.acceptedPrefixes.flatMap((p) => cidrOf(p) ?? []).filter((c) => c.version === version);
  const kept = new Map<string, BgpLearnedRoute>();
  for (const route of routes) {
    const destination = cidrOf(route.destination);
    if (destination === null || destination.version !== version) continue;
    let nextHop: string;
    try {
      if (parseIp(route.nextHop).version !== version) continue;
      nextHop = normalizeIp(route.nextHop);
    } catch {
      continue;
    }
    const ok = destination.prefixLength === 0 ? peer.acceptDefaultRoute : accepted.some((a) => cidrContainsCidr(a, destination));
    if (!ok) continue;
    const normal = { ...route, destination: formatCidr(destination), nextHop };
    kept.set(`${normal.destination} ${nextHop}`, normal);
  }
  return [...kept.values()].sort(compareRoutes).slice(0, MAX_LEARNED_ROUTES);
}

function compareRoutes(a: BgpLearnedRoute, b: BgpLearnedRoute): number {
  const [x, y] = [parseCidr(a.destination), parseCidr(b.destination)];
  if (x.network !== y.network) return x.network < y.network ? -1 : 1;
  if (x.prefixLength !== y.prefixLength) return x.prefixLength - y.prefixLength;
  return a.nextHop.localeCompare(b.nextHop);
}

/** The key of one session's routes in a speaker's state: its peer and its host. */
export const sessionKey = (peerId: string, host: string) => `${peerId} ${host}`;

const routeText = (r: BgpLearnedRoute) => JSON.stringify([r.destination, r.nextHop, r.asPath, r.med, r.localPref, r.best]);

/** Two lists of one session's routes say the same (as `acceptedRoutes` orders them). */
export const sameRoutes = (a: readonly BgpLearnedRoute[], b: readonly BgpLearnedRoute[]) =>
  a.length === b.length && a.every((r, i) => routeText(r) === routeText(b[i] ?? r) && b[i] !== undefined);
