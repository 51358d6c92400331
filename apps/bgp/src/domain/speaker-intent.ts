import { createHash } from 'node:crypto';
import { type BgpSpeakerIntent } from '@ncp/contracts';
import { isValidIp, parseIp } from '@ncp/netaddr';
import { type AdvertisedRoute } from './advertised-routes';

export interface PeerFacts {
  readonly id: string;
  readonly peerIp: string;
  readonly remoteAs: number;
  readonly authType: string;
  readonly password: string | null;
  readonly acceptDefaultRoute: boolean;
  readonly acceptedPrefixes: readonly string[];
  readonly maxPrefixes: number | null;
  readonly bfd: boolean;
}

/**
 * BIRD's router id on one host: the host's IPv4 tunnel address (unique per host, and what an
 * operator recognises in the core's neighbour table), else four bytes of a hash of the host
 * name. Two hosts running one speaker must not share a router id: a core peering with both
 * would see one router twice.
 */
export function bgpRouterId(host: string, tunnelIp: string): string {
  if (isValidIp(tunnelIp) && parseIp(tunnelIp).version === 4) return tunnelIp;
  const h = createHash('sha256').update(`ncp-bgp-router-id:${host}`).digest();
  // not 0.0.0.0, which BIRD refuses
  return [h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, (h[3] ?? 0) | 1].join('.');
}

/**
 * What one host runs for a speaker: its peers of the speaker's family (every peer when the
 * speaker serves both) with what may be learned from each, and exactly the advertised routes. BIRD runs in the agent's host
 * namespace (`namespace: null`), where the agent's links to the core routers are. Pure.
 */
export function speakerIntent(
  speaker: { readonly id: string; readonly localAs: number; readonly ipVersion: 4 | 6 | null },
  host: { readonly host: string; readonly tunnelIp: string },
  peers: readonly PeerFacts[],
  routes: readonly AdvertisedRoute[],
): BgpSpeakerIntent {
  return {
    speakerId: speaker.id,
    localAs: speaker.localAs,
    routerId: bgpRouterId(host.host, host.tunnelIp),
    namespace: null,
    peers: peers
      .filter((p) => speaker.ipVersion === null || parseIp(p.peerIp).version === speaker.ipVersion)
      .map((p) => ({
        id: p.id,
        address: p.peerIp,
        remoteAs: p.remoteAs,
        password: p.authType === 'md5' ? p.password : null,
        importPolicy: { acceptDefaultRoute: p.acceptDefaultRoute, acceptedPrefixes: [...p.acceptedPrefixes], maxPrefixes: p.maxPrefixes },
        bfd: p.bfd,
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    routes: routes.map((r) => ({ destination: r.destination, nextHop: r.nextHop })),
  };
}
