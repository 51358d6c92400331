import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '@ncp/contracts';
import { type HeartbeatWatcher } from '@ncp/eventstore';
import { agentWire, neutronController, neutronId, parseWith, requireAdmin, type HttpRequestLike } from '@ncp/nest-common';
import { DhcpServers } from '../application/servers';
import { type DhcpPrisma } from '../infrastructure/prisma';

export const DHCP_PRISMA = Symbol('DHCP_PRISMA');
export const HEARTBEATS = Symbol('HEARTBEATS');

/** Neutron's dhcp_agent_scheduler views; like Neutron's policy, for admins only. */
@Controller('v2.0')
export class DhcpAgentsController extends neutronController<
  DhcpPrisma,
  { prisma: DhcpPrisma; heartbeats: Pick<HeartbeatWatcher, 'isAlive' | 'heartbeat'>; servers: DhcpServers }
>({
  prisma: DHCP_PRISMA,
  heartbeats: HEARTBEATS,
  servers: DhcpServers,
}) {
  private requireAdmin(req: HttpRequestLike, action: string): void {
    requireAdmin(this.api.meta(req), 'DHCP', action);
  }

  @Get('networks/:id/dhcp-agents')
  async dhcpAgents(@Param('id') id: string, @Req() req: HttpRequestLike) {
    this.requireAdmin(req, 'get_dhcp-agents');
    const network = await this.deps.prisma.ipamNetwork.findUnique({ where: { id } });
    if (!network) throw new NotFoundError('DHCP.NetworkNotFound', `Network ${id} could not be found.`);
    const server = await this.deps.prisma.dhcpServer.findUnique({ where: { networkId: id } });
    const agent = server?.host ? await this.deps.prisma.agent.findUnique({ where: { host: server.host } }) : null;
    if (!agent || !server) return { agents: [] };
    return { agents: [{ ...(await this.wire(agent)), dhcp_server: { status: server.status, reason: server.reason, port_id: server.portId } }] };
  }

  @Get('agents/:id/dhcp-networks')
  async dhcpNetworks(@Param('id') id: string, @Req() req: HttpRequestLike) {
    this.requireAdmin(req, 'get_dhcp-networks');
    const agent = await this.deps.prisma.agent.findUnique({ where: { id } });
    if (!agent) throw new NotFoundError('DHCP.AgentNotFound', `Agent ${id} could not be found.`);
    const servers = await this.deps.prisma.dhcpServer.findMany({ where: { host: agent.host }, orderBy: { networkId: 'asc' } });
    const networks = await this.deps.prisma.ipamNetwork.findMany({ where: { id: { in: servers.map((s) => s.networkId) } } });
    const nameOf = new Map(networks.map((n) => [n.id, n.name]));
    return {
      networks: servers.map((s) => ({
        id: s.networkId,
        name: nameOf.get(s.networkId) ?? '',
        project_id: networks.find((n) => n.id === s.networkId)?.projectId ?? '',
        dhcp_server: { status: s.status, reason: s.reason, port_id: s.portId },
      })),
    };
  }

  /** `openstack network agent add network --dhcp <agent> <network>` */
  @Post('agents/:id/dhcp-networks')
  @HttpCode(201)
  async addNetwork(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    this.requireAdmin(req, 'create_dhcp-network');
    if (typeof body !== 'object' || body === null || !('network_id' in body)) {
      throw new ValidationError('API.HTTPBadRequest', 'Bad request: the body must be {"network_id": ...}');
    }
    const parsed = parseWith(body, z.strictObject({ network_id: neutronId() }));
    const sequence = await this.deps.servers.pin(id, parsed.network_id, this.api.meta(req));
    await this.api.settled({ id: parsed.network_id, sequence });
    return null;
  }

  /** `openstack network agent remove network --dhcp <agent> <network>` */
  @Delete('agents/:id/dhcp-networks/:networkId')
  @HttpCode(204)
  async removeNetwork(@Param('id') id: string, @Param('networkId') networkId: string, @Req() req: HttpRequestLike) {
    this.requireAdmin(req, 'delete_dhcp-network');
    await this.api.settled({ id: networkId, sequence: await this.deps.servers.unpin(id, networkId, this.api.meta(req)) });
  }

  private async wire(agent: { id: string; host: string; row: string }) {
    const servers = await this.deps.prisma.dhcpServer.findMany({ where: { host: agent.host }, select: { networkId: true } });
    const ports = await this.deps.prisma.ipamPort.count({ where: { networkId: { in: servers.map((s) => s.networkId) } } });
    const subnets = await this.deps.prisma.ipamSubnet.count({ where: { networkId: { in: servers.map((s) => s.networkId) }, enableDhcp: true } });
    return agentWire({
      id: agent.id,
      host: agent.host,
      row: agent.row,
      agentType: 'DHCP agent',
      topic: 'dhcp_agent',
      alive: this.deps.heartbeats.isAlive(agent.host),
      heartbeat: this.deps.heartbeats.heartbeat(agent.host),
      configurations: { networks: servers.length, subnets, ports, dhcp_driver: 'dnsmasq' },
    });
  }
}
