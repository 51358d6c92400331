import { type AgentEvent, type BgpEvent, type Naming } from '@ncp/contracts';
import { WholeStreamProjection, byType, firstRevision, nextRevision, someTypes, type Folded } from '@ncp/eventstore';
import { FactMirror } from '@ncp/fact-mirror';
import { type Prisma } from '../generated/prisma/client';
import { type BgpTx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/** BGP's columns of IPAM's networks and subnets, of L3's routers and floating IPs and of the agents. */
const mirror = new FactMirror<BgpTx>((tx) => tx.factMirror, {
  network: { rows: (tx) => tx.ipamNetwork, columns: ['projectId', 'name', 'external'] },
  subnet: { rows: (tx) => tx.ipamSubnet, columns: ['networkId', 'ipVersion', 'cidr', 'addressScopeId'] },
  router: { rows: (tx) => tx.router, columns: ['gatewayNetworkId', 'gatewayFixedIps'] },
  routerInterface: { rows: (tx) => tx.routerInterface, columns: ['routerId', 'fixedIps'] },
  floatingIp: { rows: (tx) => tx.floatingIp, columns: ['floatingNetworkId', 'floatingIpAddress', 'fixedIpAddress', 'routerId'] },
  agent: { rows: (tx) => tx.agent, columns: ['id', 'row', 'roles', 'tunnelIp'] },
});

/** Its own tables and its mirror's, emptied for a rebuild. */
const TABLES = [
  'bgp_speakers',
  'bgp_peers',
  'bgp_sessions',
  'bgp_learned_routes',
  'ipam_networks',
  'ipam_subnets',
  'routers',
  'router_interfaces',
  'floating_ips',
  'agents',
  'fact_mirror',
];

/** A speaker's lists of the peers and networks it has. */
type SpeakerList = 'peerIds' | 'networkIds';

async function addToSpeaker(tx: BgpTx, { id, at }: Folded<unknown>, list: SpeakerList, item: string): Promise<void> {
  const data: Prisma.BgpSpeakerUpdateInput = nextRevision(at);
  data[list] = { push: item };
  await tx.bgpSpeaker.update({ where: { id }, data });
}

async function removeFromSpeaker(tx: BgpTx, { id, at }: Folded<unknown>, list: SpeakerList, item: string): Promise<void> {
  const speaker = await tx.bgpSpeaker.findUniqueOrThrow({ where: { id }, select: { peerIds: true, networkIds: true } });
  const data: Prisma.BgpSpeakerUpdateInput = nextRevision(at);
  data[list] = speaker[list].filter((i) => i !== item);
  await tx.bgpSpeaker.update({ where: { id }, data });
}

/** BGP's own speakers and peers; a speaker's sessions go with it, its hosts and its peers. */
const bgp = byType<BgpTx, BgpEvent>({
  BgpSpeakerCreated: (tx, { id, at, data }) => tx.bgpSpeaker.create({ data: { id, ...data, peerIds: [], networkIds: [], hosts: [], ...firstRevision(at) } }),
  BgpSpeakerUpdated: (tx, { id, at, data }) => tx.bgpSpeaker.update({ where: { id }, data: { ...data.changes, ...nextRevision(at) } }),
  BgpSpeakerPeerAdded: (tx, event) => addToSpeaker(tx, event, 'peerIds', event.data.peerId),
  BgpSpeakerPeerRemoved: async (tx, event) => {
    await removeFromSpeaker(tx, event, 'peerIds', event.data.peerId);
    await tx.bgpSession.deleteMany({ where: { speakerId: event.id, peerId: event.data.peerId } });
    await tx.bgpLearnedRoute.deleteMany({ where: { speakerId: event.id, peerId: event.data.peerId } });
  },
  BgpSpeakerNetworkAdded: (tx, event) => addToSpeaker(tx, event, 'networkIds', event.data.networkId),
  BgpSpeakerNetworkRemoved: (tx, event) => removeFromSpeaker(tx, event, 'networkIds', event.data.networkId),
  BgpSpeakerScheduled: async (tx, { id, data }) => {
    // placement is not an API change: no new revision
    await tx.bgpSpeaker.update({ where: { id }, data: { hosts: json(data.hosts) } });
    await tx.bgpSession.deleteMany({ where: { speakerId: id, host: { notIn: data.hosts.map((h) => h.host) } } });
    await tx.bgpLearnedRoute.deleteMany({ where: { speakerId: id, host: { notIn: data.hosts.map((h) => h.host) } } });
  },
  BgpSpeakerRoutesLearned: async (tx, { id, at, data }) => {
    const { peerId, host } = data;
    await tx.bgpLearnedRoute.deleteMany({ where: { speakerId: id, peerId, host } });
    await tx.bgpLearnedRoute.createMany({
      data: data.routes.map((r) => ({
        speakerId: id,
        peerId,
        host,
        destination: r.destination,
        nextHop: r.nextHop,
        asPath: r.asPath.map(BigInt),
        med: r.med === null ? null : BigInt(r.med),
        localPref: r.localPref === null ? null : BigInt(r.localPref),
        best: r.best,
        learnedAt: at,
      })),
    });
  },
  BgpSpeakerDeleted: async (tx, { id }) => {
    await tx.bgpSpeaker.deleteMany({ where: { id } });
    await tx.bgpSession.deleteMany({ where: { speakerId: id } });
    await tx.bgpLearnedRoute.deleteMany({ where: { speakerId: id } });
  },
  BgpPeerCreated: (tx, { id, at, data }) => tx.bgpPeer.create({ data: { id, ...data, ...firstRevision(at) } }),
  BgpPeerUpdated: (tx, { id, at, data }) => tx.bgpPeer.update({ where: { id }, data: { ...data.changes, ...nextRevision(at) } }),
  BgpPeerDeleted: async (tx, { id }) => {
    await tx.bgpPeer.deleteMany({ where: { id } });
    await tx.bgpSession.deleteMany({ where: { peerId: id } });
  },
});

/** The sessions the agents report. */
const sessions = someTypes<BgpTx, AgentEvent>({
  ResourceStatusReported: async (tx, { at, data }) => {
    const host = data.host;
    for (const r of data.resources) {
      if (r.kind !== 'bgp_session' || r.session === undefined) continue;
      const { speakerId, peerId, state, since, prefixesSent, lastError } = r.session;
      // A late report of a host the speaker left, or of a peer it no longer has, is stale.
      const speaker = await tx.bgpSpeaker.findUnique({ where: { id: speakerId }, select: { hosts: true, peerIds: true } });
      const hosts = (speaker?.hosts ?? []) as { host: string }[];
      if (!speaker || !speaker.peerIds.includes(peerId) || !hosts.some((h) => h.host === host)) continue;
      const row = { state, since: since === null ? null : new Date(since), prefixesSent, lastError, reportedAt: at };
      await tx.bgpSession.upsert({ where: { speakerId_peerId_host: { speakerId, peerId, host } }, create: { speakerId, peerId, host, ...row }, update: row });
    }
  },
});

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): BGP's own
 * speakers and peers, the sessions the agents report, and BGP's copy of the IPAM, L3 and agent
 * facts the advertised routes are made of.
 */
export class BgpProjection extends WholeStreamProjection<BgpTx> {
  constructor(naming: Naming) {
    super('bgp', naming, { bgp: '*', ipam: ['network'], l3: ['router', 'floatingip'], agent: ['agent'] }, TABLES, {
      speaker: bgp,
      peer: bgp,
      agent: [sessions, mirror],
      network: mirror,
      router: mirror,
      floatingip: mirror,
    });
  }
}
