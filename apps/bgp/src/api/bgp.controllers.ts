import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Req } from '@nestjs/common';
import { NotFoundError, type CommandMetadata } from '@ncp/contracts';
import { type HeartbeatWatcher } from '@ncp/eventstore';
import { agentWire, neutronController, neutronResource, requireAdmin, type ApiSupport, type HttpRequestLike, type Written } from '@ncp/nest-common';
import { BgpCommands } from '../application/commands';
import { speakerHosts } from '../application/facts';
import { type BgpSpeaker } from '../generated/prisma/client';
import { type BgpPrisma } from '../infrastructure/prisma';
import { createPeerInput, createSpeakerInput, idInput, updatePeerInput, updateSpeakerInput } from './bodies';
import { peersReader, speakers } from './resources';

export const BGP_PRISMA = Symbol('BGP_PRISMA');
export const HEARTBEATS = Symbol('HEARTBEATS');
type Heartbeats = Pick<HeartbeatWatcher, 'isAlive' | 'heartbeat'>;

/** Neutron's policy for dynamic routing: admins only. */
const requireBgpAdmin = (api: ApiSupport<BgpPrisma>, req: HttpRequestLike, action: string) => requireAdmin(api.meta(req), 'BGP', action);

@Controller('v2.0/bgp-speakers')
export class SpeakersController extends neutronResource<BgpPrisma, { commands: BgpCommands; prisma: BgpPrisma; heartbeats: Heartbeats }>({
  inject: { commands: BgpCommands, prisma: BGP_PRISMA, heartbeats: HEARTBEATS },
  reader: speakers,
  adminOnly: 'BGP',
  create: (body, { deps, meta }) => deps.commands.createSpeaker(createSpeakerInput(body, meta), meta),
  update: (id, body, { deps, meta }) => deps.commands.updateSpeaker(id, updateSpeakerInput(body), meta),
  delete: (id, { deps, meta }) => deps.commands.deleteSpeaker(id, meta),
}) {
  @Put(':id/add_bgp_peer')
  addPeer(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.link(req, 'add_bgp_peer', body, 'bgp_peer_id', (peerId, meta) => this.deps.commands.addPeer(id, peerId, meta));
  }

  @Put(':id/remove_bgp_peer')
  removePeer(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.link(req, 'remove_bgp_peer', body, 'bgp_peer_id', (peerId, meta) => this.deps.commands.removePeer(id, peerId, meta));
  }

  @Put(':id/add_gateway_network')
  addNetwork(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.link(req, 'add_gateway_network', body, 'network_id', (networkId, meta) => this.deps.commands.addNetwork(id, networkId, meta));
  }

  @Put(':id/remove_gateway_network')
  removeNetwork(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.link(req, 'remove_gateway_network', body, 'network_id', (networkId, meta) => this.deps.commands.removeNetwork(id, networkId, meta));
  }

  /** An action on the peers or networks of a speaker: answered with the id it was given, once the projection shows the change. */
  private async link(
    req: HttpRequestLike,
    action: string,
    body: unknown,
    key: 'bgp_peer_id' | 'network_id',
    change: (otherId: string, meta: CommandMetadata) => Promise<Written>,
  ) {
    requireBgpAdmin(this.api, req, action);
    const otherId = idInput(body, key);
    await this.api.settled(await change(otherId, this.api.meta(req)));
    return { [key]: otherId };
  }

  /** The same decision the agents' BIRD configuration is rendered from. */
  @Get(':id/get_advertised_routes')
  async advertisedRoutes(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireBgpAdmin(this.api, req, 'get_advertised_routes');
    const routes = await this.deps.commands.advertisedRoutes(id);
    return { advertised_routes: routes.map((r) => ({ destination: r.destination, next_hop: r.nextHop })) };
  }

  /** Beyond Neutron: what the speaker's sessions learned from their peers, per peer and host. */
  @Get(':id/get_learned_routes')
  async learnedRoutes(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireBgpAdmin(this.api, req, 'get_learned_routes');
    const routes = await this.deps.commands.learnedRoutes(id);
    return {
      learned_routes: routes.map((r) => ({
        destination: r.destination,
        next_hop: r.nextHop,
        peer_id: r.peerId,
        host: r.host,
        as_path: r.asPath.map(Number),
        med: r.med === null ? null : Number(r.med),
        local_pref: r.localPref === null ? null : Number(r.localPref),
        best: r.best,
      })),
    };
  }

  @Get(':id/bgp-dragents')
  async dragents(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireBgpAdmin(this.api, req, 'list_dragent_hosting_bgp_speaker');
    const speaker = await this.deps.prisma.bgpSpeaker.findUnique({ where: { id } });
    if (!speaker) throw notFoundSpeaker(id);
    const hosts = speakerHosts(speaker);
    const agents = await this.deps.prisma.agent.findMany({ where: { host: { in: hosts.map((h) => h.host) } }, orderBy: { host: 'asc' } });
    const all = await this.deps.prisma.bgpSpeaker.findMany({ select: { hosts: true } });
    return { agents: agents.map((a) => ({ ...dragentWire(all, this.deps.heartbeats, a), pinned: hosts.some((h) => h.host === a.host && h.pinned) })) };
  }
}

const notFoundSpeaker = (id: string) => new NotFoundError('BGP.BgpSpeakerNotFound', `BGP speaker ${id} could not be found.`);

/** `speakers`: every speaker's placement, read once for all the agents shown. */
function dragentWire(speakers: readonly Pick<BgpSpeaker, 'hosts'>[], heartbeats: Heartbeats, agent: { id: string; host: string; row: string }) {
  const count = speakers.filter((s) => speakerHosts(s).some((h) => h.host === agent.host)).length;
  return agentWire({
    id: agent.id,
    host: agent.host,
    row: agent.row,
    agentType: 'BGP dynamic routing agent',
    topic: 'bgp_dragent',
    alive: heartbeats.isAlive(agent.host),
    heartbeat: heartbeats.heartbeat(agent.host),
    configurations: { bgp_speakers: count, bgp_driver: 'bird2' },
  });
}

@Controller('v2.0/bgp-peers')
export class PeersController extends neutronResource<BgpPrisma, { commands: BgpCommands; heartbeats: Heartbeats }>({
  inject: { commands: BgpCommands, heartbeats: HEARTBEATS },
  reader: (deps) => peersReader((host) => deps.heartbeats.isAlive(host)),
  adminOnly: 'BGP',
  create: (body, { deps, meta }) => deps.commands.createPeer(createPeerInput(body, meta), meta),
  update: (id, body, { deps, meta }) => deps.commands.updatePeer(id, updatePeerInput(body), meta),
  delete: (id, { deps, meta }) => deps.commands.deletePeer(id, meta),
}) {}

/** Neutron's bgp_dragent_scheduler, seen from the agent. */
@Controller('v2.0/agents')
export class DrAgentsController extends neutronController<BgpPrisma, { commands: BgpCommands; prisma: BgpPrisma }>({
  commands: BgpCommands,
  prisma: BGP_PRISMA,
}) {
  @Get(':id/bgp-drinstances')
  async list(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireBgpAdmin(this.api, req, 'list_bgp_speaker_on_dragent');
    const agent = await this.deps.prisma.agent.findUnique({ where: { id } });
    if (!agent) throw new NotFoundError('BGP.AgentNotFound', `Agent ${id} could not be found.`);
    const all = await this.deps.prisma.bgpSpeaker.findMany({ orderBy: { createdAt: 'asc' } });
    return { bgp_speakers: all.filter((s) => speakerHosts(s).some((h) => h.host === agent.host)).map((s) => speakers.toWire(s, this.api.meta(req))) };
  }

  /** `openstack bgp dragent add speaker <agent> <speaker>` */
  @Post(':id/bgp-drinstances')
  @HttpCode(201)
  async add(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireBgpAdmin(this.api, req, 'add_bgp_speaker_to_dragent');
    await this.api.settled(await this.deps.commands.pin(id, idInput(body, 'bgp_speaker_id'), this.api.meta(req)));
    return null;
  }

  /** `openstack bgp dragent remove speaker <agent> <speaker>` */
  @Delete(':id/bgp-drinstances/:speakerId')
  @HttpCode(204)
  async remove(@Param('id') id: string, @Param('speakerId') speakerId: string, @Req() req: HttpRequestLike) {
    requireBgpAdmin(this.api, req, 'remove_bgp_speaker_from_dragent');
    await this.api.settled(await this.deps.commands.unpin(id, speakerId, this.api.meta(req)));
  }
}
