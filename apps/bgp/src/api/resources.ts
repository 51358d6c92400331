import { ASN_RANGE } from './bodies';
import {
  BY_CREATION,
  STANDARD_ATTRIBUTES,
  booleanAttr,
  integerAttr,
  listAttr,
  jsonAttr,
  neutronTimestamp,
  policyWhere,
  standardWire,
  stringAttr,
  type ResourceReader,
} from '@ncp/nest-common';
import { type BgpPeer, type BgpSession, type BgpSpeaker } from '../generated/prisma/client';
import { type BgpPrisma } from '../infrastructure/prisma';

export const speakers: ResourceReader<BgpSpeaker, BgpPrisma> = {
  path: 'bgp-speakers',
  spec: {
    singular: 'bgp_speaker',
    collection: 'bgp_speakers',
    attributes: {
      ...STANDARD_ATTRIBUTES,
      local_as: integerAttr('localAs', ASN_RANGE),
      ip_version: integerAttr('ipVersion'),
      advertise_floating_ip_host_routes: booleanAttr('advertiseFloatingIpHostRoutes'),
      advertise_tenant_networks: booleanAttr('advertiseTenantNetworks'),
      peers: listAttr,
      networks: listAttr,
    },
  },
  notFound: (id) => ({ type: 'BgpSpeakerNotFound', message: `BGP speaker ${id} could not be found.` }),
  defaultSort: BY_CREATION,
  visibleTo: (meta) => policyWhere('get_bgp_speaker', meta),
  findMany: (prisma, args) => prisma.bgpSpeaker.findMany(args),
  toWire: (s) => ({
    ...standardWire(s),
    local_as: Number(s.localAs),
    ip_version: s.ipVersion,
    advertise_floating_ip_host_routes: s.advertiseFloatingIpHostRoutes,
    advertise_tenant_networks: s.advertiseTenantNetworks,
    peers: s.peerIds,
    networks: s.networkIds,
  }),
};

type PeerRow = BgpPeer & { sessions: BgpSession[] };

/**
 * A peer's sessions, one per (speaker, host) running a speaker the peer is added to, and the
 * peer's `status`: `Established` when any session on a live agent is, else the state of the
 * first such session, else `Down` (no live agent runs a speaker with this peer).
 */
export function sessionsWire(sessions: readonly BgpSession[], isAlive: (host: string) => boolean, now = new Date()) {
  const wire = sessions.map((s) => {
    const alive = isAlive(s.host);
    const established = alive && s.state === 'Established';
    return {
      bgp_speaker_id: s.speakerId,
      host: s.host,
      agent_alive: alive,
      state: alive ? s.state : 'Unknown',
      since: s.since ? neutronTimestamp(s.since) : null,
      uptime_seconds: established && s.since ? Math.max(0, Math.floor((now.getTime() - s.since.getTime()) / 1000)) : null,
      prefixes_sent: alive ? s.prefixesSent : null,
      last_error: s.lastError,
    };
  });
  const live = wire.filter((s) => s.agent_alive);
  const status = live.some((s) => s.state === 'Established') ? 'Established' : (live[0]?.state ?? 'Down');
  return { status, sessions: wire };
}

export function peersReader(isAlive: (host: string) => boolean): ResourceReader<PeerRow, BgpPrisma> {
  return {
    path: 'bgp-peers',
    spec: {
      singular: 'bgp_peer',
      collection: 'bgp_peers',
      attributes: {
        ...STANDARD_ATTRIBUTES,
        peer_ip: stringAttr('peerIp'),
        remote_as: integerAttr('remoteAs', ASN_RANGE),
        auth_type: stringAttr('authType'),
        accept_default_route: booleanAttr('acceptDefaultRoute'),
        accepted_prefixes: listAttr,
        max_prefixes: integerAttr('maxPrefixes'),
        bfd: booleanAttr('bfd'),
        status: stringAttr(),
        sessions: jsonAttr,
      },
    },
    notFound: (id) => ({ type: 'BgpPeerNotFound', message: `BGP peer ${id} could not be found.` }),
    defaultSort: BY_CREATION,
    visibleTo: (meta) => policyWhere('get_bgp_peer', meta),
    findMany: async (prisma, args) => {
      const peers = await prisma.bgpPeer.findMany(args);
      const sessions = await prisma.bgpSession.findMany({
        where: { peerId: { in: peers.map((p) => p.id) } },
        orderBy: [{ speakerId: 'asc' }, { host: 'asc' }],
      });
      return peers.map((p) => ({ ...p, sessions: sessions.filter((s) => s.peerId === p.id) }));
    },
    // the password is write-only: never shown
    toWire: (p) => ({
      ...standardWire(p),
      peer_ip: p.peerIp,
      remote_as: Number(p.remoteAs),
      auth_type: p.authType,
      accept_default_route: p.acceptDefaultRoute,
      accepted_prefixes: p.acceptedPrefixes,
      max_prefixes: p.maxPrefixes,
      bfd: p.bfd,
      ...sessionsWire(p.sessions, isAlive),
    }),
  };
}
