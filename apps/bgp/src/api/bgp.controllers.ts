import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Req } from '@nestjs/common';
import { ForbiddenError, NotFoundError } from '@ncp/contracts';
import { type HeartbeatWatcher } from '@ncp/eventstore';
import { ApiSupport, agentWire, type HttpRequestLike, type ResourceReader } from '@ncp/nest-common';
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
function requireAdmin(api: ApiSupport<BgpPrisma>, req: HttpRequestLike, action: string): void {
  if (!api.meta(req).isAdmin) throw new ForbiddenError('BGP.PolicyNotAuthorized', `rule:${action} is disallowed by policy`);
}

@Controller('v2.0/bgp-speakers')
export class SpeakersController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<BgpPrisma>,
    @Inject(BgpCommands) private readonly commands: BgpCommands,
    @Inject(BGP_PRISMA) private readonly prisma: BgpPrisma,
    @Inject(HEARTBEATS) private readonly heartbeats: Heartbeats,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'get_bgp_speaker');
    return this.api.list(speakers, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'get_bgp_speaker');
    return this.api.get(speakers, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'create_bgp_speaker');
    const meta = this.api.meta(req);
    return this.api.show(speakers, await this.commands.createSpeaker(createSpeakerInput(body, meta), meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'update_bgp_speaker');
    const meta = this.api.meta(req);
    return this.api.show(speakers, await this.commands.updateSpeaker(id, updateSpeakerInput(body), meta), meta);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'delete_bgp_speaker');
    await this.api.settled(await this.commands.deleteSpeaker(id, this.api.meta(req)));
  }

  @Put(':id/add_bgp_peer')
  async addPeer(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'add_bgp_peer');
    const peerId = idInput(body, 'bgp_peer_id');
    await this.api.settled(await this.commands.addPeer(id, peerId, this.api.meta(req)));
    return { bgp_peer_id: peerId };
  }

  @Put(':id/remove_bgp_peer')
  async removePeer(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'remove_bgp_peer');
    const peerId = idInput(body, 'bgp_peer_id');
    await this.api.settled(await this.commands.removePeer(id, peerId, this.api.meta(req)));
    return { bgp_peer_id: peerId };
  }

  @Put(':id/add_gateway_network')
  async addNetwork(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'add_gateway_network');
    const networkId = idInput(body, 'network_id');
    await this.api.settled(await this.commands.addNetwork(id, networkId, this.api.meta(req)));
    return { network_id: networkId };
  }

  @Put(':id/remove_gateway_network')
  async removeNetwork(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'remove_gateway_network');
    const networkId = idInput(body, 'network_id');
    await this.api.settled(await this.commands.removeNetwork(id, networkId, this.api.meta(req)));
    return { network_id: networkId };
  }

  /** The same decision the agents' BIRD configuration is rendered from. */
  @Get(':id/get_advertised_routes')
  async advertisedRoutes(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'get_advertised_routes');
    const routes = await this.commands.advertisedRoutes(id);
    return { advertised_routes: routes.map((r) => ({ destination: r.destination, next_hop: r.nextHop })) };
  }

  @Get(':id/bgp-dragents')
  async dragents(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'get_bgp_dragents');
    const speaker = await this.prisma.bgpSpeaker.findUnique({ where: { id } });
    if (!speaker) throw notFoundSpeaker(id);
    const hosts = speakerHosts(speaker);
    const agents = await this.prisma.agent.findMany({ where: { host: { in: hosts.map((h) => h.host) } }, orderBy: { host: 'asc' } });
    const all = await this.prisma.bgpSpeaker.findMany({ select: { hosts: true } });
    return { agents: agents.map((a) => ({ ...dragentWire(all, this.heartbeats, a), pinned: hosts.some((h) => h.host === a.host && h.pinned) })) };
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
export class PeersController {
  private readonly peers: ResourceReader<Parameters<ReturnType<typeof peersReader>['toWire']>[0], BgpPrisma>;

  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<BgpPrisma>,
    @Inject(BgpCommands) private readonly commands: BgpCommands,
    @Inject(HEARTBEATS) heartbeats: Heartbeats,
  ) {
    this.peers = peersReader((host) => heartbeats.isAlive(host));
  }

  @Get()
  list(@Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'get_bgp_peer');
    return this.api.list(this.peers, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'get_bgp_peer');
    return this.api.get(this.peers, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'create_bgp_peer');
    const meta = this.api.meta(req);
    return this.api.show(this.peers, await this.commands.createPeer(createPeerInput(body, meta), meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'update_bgp_peer');
    const meta = this.api.meta(req);
    return this.api.show(this.peers, await this.commands.updatePeer(id, updatePeerInput(body), meta), meta);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'delete_bgp_peer');
    await this.api.settled(await this.commands.deletePeer(id, this.api.meta(req)));
  }
}

/** Neutron's bgp_dragent_scheduler, seen from the agent. */
@Controller('v2.0/agents')
export class DrAgentsController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<BgpPrisma>,
    @Inject(BgpCommands) private readonly commands: BgpCommands,
    @Inject(BGP_PRISMA) private readonly prisma: BgpPrisma,
  ) {}

  @Get(':id/bgp-drinstances')
  async list(@Param('id') id: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'get_bgp_drinstances');
    const agent = await this.prisma.agent.findUnique({ where: { id } });
    if (!agent) throw new NotFoundError('BGP.AgentNotFound', `Agent ${id} could not be found.`);
    const all = await this.prisma.bgpSpeaker.findMany({ orderBy: { createdAt: 'asc' } });
    return { bgp_speakers: all.filter((s) => speakerHosts(s).some((h) => h.host === agent.host)).map((s) => speakers.toWire(s)) };
  }

  /** `openstack bgp dragent add speaker <agent> <speaker>` */
  @Post(':id/bgp-drinstances')
  @HttpCode(201)
  async add(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'add_bgp_speaker_to_dragent');
    await this.api.settled(await this.commands.pin(id, idInput(body, 'bgp_speaker_id'), this.api.meta(req)));
    return null;
  }

  /** `openstack bgp dragent remove speaker <agent> <speaker>` */
  @Delete(':id/bgp-drinstances/:speakerId')
  @HttpCode(204)
  async remove(@Param('id') id: string, @Param('speakerId') speakerId: string, @Req() req: HttpRequestLike) {
    requireAdmin(this.api, req, 'remove_bgp_speaker_from_dragent');
    await this.api.settled(await this.commands.unpin(id, speakerId, this.api.meta(req)));
  }
}
