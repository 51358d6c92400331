import { type AgentEvent, type BgpEvent, type L3Event, type Naming, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { acceptsContexts, type Projection } from '@ncp/eventstore';
import { type Prisma } from '../generated/prisma/client';
import { type BgpTx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): BGP's own
 * speakers and peers, the sessions the agents report, and BGP's copy of the IPAM, L3 and agent
 * facts the advertised routes are made of.
 */
export class BgpProjection implements Projection<BgpTx> {
  readonly name = 'bgp';
  readonly filter: string;
  readonly accepts: (subject: string) => boolean;

  constructor(naming: Naming) {
    this.filter = naming.allEvents;
    this.accepts = acceptsContexts(naming, { bgp: '*', ipam: ['network'], l3: ['router', 'floatingip'], agent: ['agent'] });
  }

  async reset(tx: BgpTx): Promise<void> {
    await tx.$executeRaw`TRUNCATE bgp_speakers, bgp_peers, bgp_sessions, ipam_networks, ipam_subnets, routers, router_interfaces, floating_ips, agents`;
  }

  async apply(tx: BgpTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const at = new Date(e.occurredAt);
    const event = { type: e.type, data: e.data };
    if (e.aggregate === 'network') return this.mirrorNetwork(tx, e.aggregateId, event as NetworkEvent);
    if (e.aggregate === 'agent') return this.mirrorAgent(tx, e.aggregateId, at, event as AgentEvent);
    if (e.aggregate === 'router' || e.aggregate === 'floatingip') return this.mirrorL3(tx, e.aggregateId, event as L3Event);
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

  private async mirrorNetwork(tx: BgpTx, networkId: string, event: NetworkEvent): Promise<void> {
    switch (event.type) {
      case 'NetworkCreated': {
        const data = { projectId: event.data.projectId, name: event.data.name, external: event.data.external };
        await tx.ipamNetwork.upsert({ where: { id: networkId }, create: { id: networkId, ...data }, update: data });
        return;
      }
      case 'NetworkUpdated': {
        const c = event.data.changes;
        const data = { ...(c.name !== undefined ? { name: c.name } : {}), ...(c.external !== undefined ? { external: c.external } : {}) };
        if (Object.keys(data).length > 0) await tx.ipamNetwork.update({ where: { id: networkId }, data });
        return;
      }
      case 'NetworkDeleted':
        await tx.ipamSubnet.deleteMany({ where: { networkId } });
        await tx.ipamNetwork.deleteMany({ where: { id: networkId } });
        return;
      case 'SubnetCreated': {
        const d = event.data;
        const data = { networkId, ipVersion: d.ipVersion, cidr: d.cidr, addressScopeId: d.addressScopeId };
        await tx.ipamSubnet.upsert({ where: { id: d.subnetId }, create: { id: d.subnetId, ...data }, update: data });
        return;
      }
      case 'SubnetDeleted':
        await tx.ipamSubnet.deleteMany({ where: { id: event.data.subnetId } });
        return;
      default:
        // ports and subnet updates change nothing BGP advertises
        return;
    }
  }

  private async mirrorL3(tx: BgpTx, id: string, event: L3Event): Promise<void> {
    switch (event.type) {
      case 'RouterCreated': {
        // a router may be created with its gateway (events before that carry none)
        const gateway = event.data.gateway;
        const data = { gatewayNetworkId: gateway?.networkId ?? null, gatewayFixedIps: json(gateway?.fixedIps ?? []) };
        await tx.router.upsert({ where: { id }, create: { id, ...data }, update: {} });
        return;
      }
      case 'RouterGatewaySet':
        await tx.router.update({ where: { id }, data: { gatewayNetworkId: event.data.networkId, gatewayFixedIps: json(event.data.fixedIps) } });
        return;
      case 'RouterGatewayCleared':
        await tx.router.update({ where: { id }, data: { gatewayNetworkId: null, gatewayFixedIps: [] } });
        return;
      case 'RouterInterfaceAdded':
        await tx.routerInterface.upsert({
          where: { portId: event.data.portId },
          create: { portId: event.data.portId, routerId: id, fixedIps: json(event.data.fixedIps) },
          update: { routerId: id, fixedIps: json(event.data.fixedIps) },
        });
        return;
      case 'RouterInterfaceRemoved':
        await tx.routerInterface.deleteMany({ where: { portId: event.data.portId } });
        return;
      case 'RouterDeleted':
        await tx.routerInterface.deleteMany({ where: { routerId: id } });
        await tx.router.deleteMany({ where: { id } });
        return;
      case 'FloatingIpCreated': {
        const data = { floatingNetworkId: event.data.floatingNetworkId, floatingIpAddress: event.data.floatingIpAddress };
        await tx.floatingIp.upsert({ where: { id }, create: { id, ...data }, update: data });
        return;
      }
      case 'FloatingIpAssociated':
        await tx.floatingIp.update({ where: { id }, data: { fixedIpAddress: event.data.fixedIpAddress, routerId: event.data.routerId } });
        return;
      case 'FloatingIpDisassociated':
        await tx.floatingIp.update({ where: { id }, data: { fixedIpAddress: null, routerId: null } });
        return;
      case 'FloatingIpDeleted':
        await tx.floatingIp.deleteMany({ where: { id } });
        return;
      default:
        return;
    }
  }

  private async mirrorAgent(tx: BgpTx, agentId: string, at: Date, event: AgentEvent): Promise<void> {
    if (event.type === 'AgentRegistered') {
      const d = event.data;
      const data = { row: d.row, host: d.host, roles: d.roles, tunnelIp: d.tunnelIp };
      await tx.agent.deleteMany({ where: { host: d.host, NOT: { id: agentId } } });
      await tx.agent.upsert({ where: { id: agentId }, create: { id: agentId, ...data }, update: data });
      return;
    }
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
