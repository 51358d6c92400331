import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError, type BgpPeerEvent, type BgpSpeakerEvent, type CommandMetadata } from '@ncp/contracts';
import { AggregateRepository, type JetStreamEventStore } from '@ncp/eventstore';
import { type Written } from '@ncp/nest-common';
import { peerDecider, type PeerChanges, type PeerCommand, type PeerImportPolicy, type PeerState } from '../domain/peer.decider';
import { speakerDecider, type SpeakerAttributes, type SpeakerCommand, type SpeakerState } from '../domain/speaker.decider';
import { type BgpPrisma } from '../infrastructure/prisma';
import { type AdvertisedRoute } from '../domain/advertised-routes';
import { routesOfSpeaker, routingFacts, speakerHosts, speakerIpVersion } from './facts';
import { familiesClash } from '../domain/placement';

export interface CreateSpeakerInput extends SpeakerAttributes {
  readonly projectId: string;
  readonly localAs: number;
  readonly ipVersion: 4 | 6 | null;
}

export interface CreatePeerInput extends PeerImportPolicy {
  readonly projectId: string;
  readonly name: string;
  readonly peerIp: string;
  readonly remoteAs: number;
  readonly authType: 'none' | 'md5';
  readonly password: string | null;
}

/**
 * The BGP write side: speakers and peers, each its own aggregate. A speaker decides on the
 * peers it has (their addresses included) and on its own family; checks against other
 * services' facts (a gateway network that exists) read the projection after catching up
 * with the stream.
 */
export class BgpCommands {
  readonly speakers: AggregateRepository<SpeakerState, SpeakerCommand, BgpSpeakerEvent>;
  readonly peers: AggregateRepository<PeerState, PeerCommand, BgpPeerEvent>;

  constructor(
    store: JetStreamEventStore,
    private readonly prisma: BgpPrisma,
    private readonly catchUp: () => Promise<void>,
    /** called when where a speaker runs may have to change */
    private readonly placementChanged: () => void,
  ) {
    this.speakers = new AggregateRepository(store, speakerDecider);
    this.peers = new AggregateRepository(store, peerDecider);
  }

  async createSpeaker(input: CreateSpeakerInput, meta: CommandMetadata): Promise<Written> {
    const id = randomUUID();
    const r = await this.speakers.execute(id, { type: 'CreateSpeaker', id, ...input }, meta);
    this.placementChanged();
    return { id, sequence: r.sequence };
  }

  async updateSpeaker(id: string, changes: Partial<SpeakerAttributes>, meta: CommandMetadata): Promise<Written> {
    return this.speakerCommand({ type: 'UpdateSpeaker', id, changes }, meta);
  }

  async deleteSpeaker(id: string, meta: CommandMetadata): Promise<Written> {
    return this.speakerCommand({ type: 'DeleteSpeaker', id }, meta);
  }

  async addPeer(id: string, peerId: string, meta: CommandMetadata): Promise<Written> {
    await this.existingSpeaker(id);
    const peer = (await this.peers.load(peerId)).state;
    if (!peer.exists) throw new NotFoundError('BGP.BgpPeerNotFound', `BGP peer ${peerId} could not be found.`);
    // The address is the peer's own, immutable fact; the speaker decides what it means to it.
    return this.speakerCommand({ type: 'AddPeer', id, peerId, peerIp: peer.peerIp }, meta);
  }

  async removePeer(id: string, peerId: string, meta: CommandMetadata): Promise<Written> {
    return this.speakerCommand({ type: 'RemovePeer', id, peerId }, meta);
  }

  async addNetwork(id: string, networkId: string, meta: CommandMetadata): Promise<Written> {
    await this.existingSpeaker(id);
    await this.catchUp();
    const network = await this.prisma.ipamNetwork.findUnique({ where: { id: networkId } });
    if (!network) throw new NotFoundError('BGP.NetworkNotFound', `Network ${networkId} could not be found.`);
    if (!network.external) {
      throw new ValidationError(
        'BGP.InvalidInput',
        `Network ${networkId} is not an external network: only routers' gateways on external networks are advertised.`,
      );
    }
    return this.speakerCommand({ type: 'AddNetwork', id, networkId }, meta);
  }

  async removeNetwork(id: string, networkId: string, meta: CommandMetadata): Promise<Written> {
    return this.speakerCommand({ type: 'RemoveNetwork', id, networkId }, meta);
  }

  /** What the speaker advertises, as of everything the stream holds now (read your writes, across services). */
  async advertisedRoutes(id: string): Promise<AdvertisedRoute[]> {
    await this.catchUp();
    const speaker = await this.prisma.bgpSpeaker.findUnique({ where: { id } });
    if (!speaker) throw new NotFoundError('BGP.BgpSpeakerNotFound', `BGP speaker ${id} could not be found.`);
    return routesOfSpeaker(speaker, await routingFacts(this.prisma));
  }

  /** What the speaker's sessions learned (of what their peers' policies accept), as of everything the stream holds now. */
  async learnedRoutes(id: string) {
    await this.catchUp();
    const speaker = await this.prisma.bgpSpeaker.findUnique({ where: { id }, select: { id: true } });
    if (!speaker) throw new NotFoundError('BGP.BgpSpeakerNotFound', `BGP speaker ${id} could not be found.`);
    return this.prisma.bgpLearnedRoute.findMany({
      where: { speakerId: id },
      orderBy: [{ destination: 'asc' }, { nextHop: 'asc' }, { peerId: 'asc' }, { host: 'asc' }],
    });
  }

  async createPeer(input: CreatePeerInput, meta: CommandMetadata): Promise<Written> {
    const id = randomUUID();
    const r = await this.peers.execute(id, { type: 'CreatePeer', id, ...input }, meta);
    return { id, sequence: r.sequence };
  }

  async updatePeer(id: string, changes: PeerChanges, meta: CommandMetadata): Promise<Written> {
    const r = await this.peers.execute(id, { type: 'UpdatePeer', id, changes }, meta);
    return { id, sequence: r.sequence };
  }

  /** As in Neutron, a deleted peer leaves every speaker it was added to (their sessions close). */
  async deletePeer(id: string, meta: CommandMetadata): Promise<Written> {
    if (!(await this.peers.load(id)).state.exists) throw new NotFoundError('BGP.BgpPeerNotFound', `BGP peer ${id} could not be found.`);
    await this.catchUp();
    for (const s of await this.prisma.bgpSpeaker.findMany({ where: { peerIds: { has: id } }, select: { id: true } })) {
      await this.speakers.execute(s.id, { type: 'RemovePeer', id: s.id, peerId: id, ifPresent: true }, meta);
    }
    const r = await this.peers.execute(id, { type: 'DeletePeer', id }, meta);
    return { id, sequence: r.sequence };
  }

  /**
   * Neutron's "add BGP speaker to dynamic routing agent": the speaker runs there and stays
   * (pinned), even while the agent is down, until removed from it; automatic placement stops
   * for the speaker while any agent is pinned.
   * @throws NotFoundError for an unknown agent or speaker; ConflictError for an agent without
   *   the bgp role, one that already hosts the speaker by this API, or one running another
   *   speaker of the same address family
   */
  async pin(agentId: string, speakerId: string, meta: CommandMetadata): Promise<Written> {
    const agent = await this.agent(agentId);
    if (!agent.roles.includes('bgp')) throw new ConflictError('BGP.InvalidDRAgent', `Agent ${agentId} is not a BGP dynamic routing agent: it has no bgp role.`);
    const speaker = await this.existingSpeaker(speakerId);
    await this.catchUp();
    // Other speakers' placements are other aggregates: checked on the projection, a
    // best-effort guard (BIRD refuses a second listener of a family on a host anyway).
    const clashing = (await this.prisma.bgpSpeaker.findMany({ where: { id: { not: speakerId } } })).find(
      (s) => speakerHosts(s).some((h) => h.host === agent.host) && familiesClash(speakerIpVersion(s), speaker.ipVersion),
    );
    if (clashing) {
      throw new ConflictError(
        'BGP.DrAgentAssociationError',
        `Dynamic routing agent ${agentId} already runs BGP speaker ${clashing.id} of the same address family: one BIRD per family listens on a host.`,
      );
    }
    // The speaker decides the new hosts on the hosts it has now: concurrent pins all hold.
    return this.speakerCommand({ type: 'Pin', id: speakerId, host: agent.host, row: agent.row, agentId }, meta);
  }

  /** Neutron's "remove BGP speaker from dynamic routing agent"; without pins left, placement is automatic again. */
  async unpin(agentId: string, speakerId: string, meta: CommandMetadata): Promise<Written> {
    const agent = await this.agent(agentId);
    await this.existingSpeaker(speakerId);
    return this.speakerCommand({ type: 'Unpin', id: speakerId, host: agent.host, agentId }, meta);
  }

  private async speakerCommand(command: SpeakerCommand, meta: CommandMetadata): Promise<Written> {
    const r = await this.speakers.execute(command.id, command, meta);
    this.placementChanged();
    return { id: command.id, sequence: r.sequence };
  }

  private async existingSpeaker(id: string): Promise<SpeakerState> {
    const speaker = (await this.speakers.load(id)).state;
    if (!speaker.exists) throw new NotFoundError('BGP.BgpSpeakerNotFound', `BGP speaker ${id} could not be found.`);
    return speaker;
  }

  private async agent(id: string) {
    await this.catchUp();
    const agent = await this.prisma.agent.findUnique({ where: { id } });
    if (!agent) throw new NotFoundError('BGP.AgentNotFound', `Agent ${id} could not be found.`);
    return agent;
  }
}
