import { type AgentEvent, type BgpEvent, type Naming, type RecordedEvent } from '@ncp/contracts';
import { WholeStreamProjection } from '@ncp/eventstore';
import { FactMirror, isMirrored } from '@ncp/fact-mirror';
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
  'ipam_networks',
  'ipam_subnets',
  'routers',
  'router_interfaces',
  'floating_ips',
  'agents',
  'fact_mirror',
];

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): BGP's own
 * speakers and peers, the sessions the agents report, and BGP's copy of the IPAM, L3 and agent
 * facts the advertised routes are made of.
 */
export class BgpProjection extends WholeStreamProjection<BgpTx> {
  constructor(naming: Naming) {
    super('bgp', naming, { bgp: '*', ipam: ['network'], l3: ['router', 'floatingip'], agent: ['agent'] }, TABLES);
  }

  async apply(tx: BgpTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const at = new Date(e.occurredAt);
    const event = { type: e.type, data: e.data };
    if (e.aggregate === 'agent') await this.applySessions(tx, at, event as AgentEvent);
    if (isMirrored(e.aggregate)) return mirror.apply(tx, recorded);
    return this.applyBgp(tx, e.aggregateId, at, event as BgpEvent);
  }

  private async applyBgp(tx: BgpTx, id: string, at: Date, event: BgpEvent): Promise<void> {
    const touched = { updatedAt: at, revisionNumber: { increment: 1 } };
    switch (event.type) {
      case 'BgpSpeakerCreated':
        await tx.bgpSpeaker.create({ data: { id, ...event.data, peerIds: [], networkIds: [], hosts: [], revisionNumber: 1, createdAt: at, updatedAt: at } });
        return;
      case 'BgpSpeakerUpdated':
        await tx.bgpSpeaker.update({ where: { id }, data: { ...event.data.changes, ...touched } });
        return;
      case 'BgpSpeakerPeerAdded':
        await tx.bgpSpeaker.update({ where: { id }, data: { peerIds: { push: event.data.peerId }, ...touched } });
        return;
      case 'BgpSpeakerPeerRemoved': {
        const speaker = await tx.bgpSpeaker.findUniqueOrThrow({ where: { id }, select: { peerIds: true } });
        await tx.bgpSpeaker.update({ where: { id }, data: { peerIds: speaker.peerIds.filter((p) => p !== event.data.peerId), ...touched } });
        await tx.bgpSession.deleteMany({ where: { speakerId: id, peerId: event.data.peerId } });
        return;
      }
      case 'BgpSpeakerNetworkAdded':
        await tx.bgpSpeaker.update({ where: { id }, data: { networkIds: { push: event.data.networkId }, ...touched } });
        return;
      case 'BgpSpeakerNetworkRemoved': {
        const speaker = await tx.bgpSpeaker.findUniqueOrThrow({ where: { id }, select: { networkIds: true } });
        await tx.bgpSpeaker.update({ where: { id }, data: { networkIds: speaker.networkIds.filter((n) => n !== event.data.networkId), ...touched } });
        return;
      }
      case 'BgpSpeakerScheduled':
        // placement is not an API change: no new revision
        await tx.bgpSpeaker.update({ where: { id }, data: { hosts: json(event.data.hosts) } });
        await tx.bgpSession.deleteMany({ where: { speakerId: id, host: { notIn: event.data.hosts.map((h) => h.host) } } });
        return;
      case 'BgpSpeakerDeleted':
        await tx.bgpSpeaker.deleteMany({ where: { id } });
        await tx.bgpSession.deleteMany({ where: { speakerId: id } });
        return;
      case 'BgpPeerCreated':
        await tx.bgpPeer.create({ data: { id, ...event.data, revisionNumber: 1, createdAt: at, updatedAt: at } });
        return;
      case 'BgpPeerUpdated':
        await tx.bgpPeer.update({ where: { id }, data: { ...event.data.changes, ...touched } });
        return;
      case 'BgpPeerDeleted':
        await tx.bgpPeer.deleteMany({ where: { id } });
        await tx.bgpSession.deleteMany({ where: { peerId: id } });
        return;
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }

  /** The sessions the agents report. */
  private async applySessions(tx: BgpTx, at: Date, event: AgentEvent): Promise<void> {
    if (event.type !== 'ResourceStatusReported') return;
    const host = event.data.host;
    for (const r of event.data.resources) {
      if (r.kind !== 'bgp_session' || r.session === undefined) continue;
      const { speakerId, peerId, state, since, prefixesSent, lastError } = r.session;
      // A late report of a host the speaker left, or of a peer it no longer has, is stale.
      const speaker = await tx.bgpSpeaker.findUnique({ where: { id: speakerId }, select: { hosts: true, peerIds: true } });
      const hosts = (speaker?.hosts ?? []) as { host: string }[];
      if (!speaker || !speaker.peerIds.includes(peerId) || !hosts.some((h) => h.host === host)) continue;
      const data = { state, since: since === null ? null : new Date(since), prefixesSent, lastError, reportedAt: at };
      await tx.bgpSession.upsert({ where: { speakerId_peerId_host: { speakerId, peerId, host } }, create: { speakerId, peerId, host, ...data }, update: data });
    }
  }
}
