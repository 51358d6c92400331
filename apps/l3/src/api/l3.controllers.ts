import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, Param, Put, Req } from '@nestjs/common';
import { QuotaUsage } from '@ncp/eventstore';
import { agentWire, neutronResource, type HttpRequestLike } from '@ncp/nest-common';
import { FloatingIpCommands } from '../application/floating-ip.commands';
import { RouterCommands, type InterfaceResult } from '../application/router.commands';
import { type L3Prisma } from '../infrastructure/prisma';
import { createFloatingIpInput, createRouterInput, extraRoutesInput, interfaceInput, updateFloatingIpInput, updateRouterInput } from './bodies';
import { floatingIps, routers } from './resources';

export const L3_PRISMA = Symbol('L3_PRISMA');
export const HEARTBEATS = Symbol('HEARTBEATS');
/** Waits until L3's projection holds what the stream held when asked (facts of other services included). */
export const CATCH_UP = Symbol('CATCH_UP');

type Heartbeats = { isAlive(host: string): boolean; heartbeat(host: string): Date | undefined };

@Controller('v2.0/routers')
export class RoutersController extends neutronResource<L3Prisma, { commands: RouterCommands; prisma: L3Prisma; heartbeats: Heartbeats; quota: QuotaUsage }>({
  inject: { commands: RouterCommands, prisma: L3_PRISMA, heartbeats: HEARTBEATS, quota: QuotaUsage },
  reader: routers,
  create: (body, { deps, meta }) => {
    const input = createRouterInput(body, meta, deps.commands.haDefault);
    const id = randomUUID();
    return deps.quota.guard(input.projectId, 'router', [id], meta, () => deps.commands.create(input, meta, id));
  },
  update: (id, body, { deps, meta, revision }) => {
    const { changes, gateway, routes } = updateRouterInput(body);
    return deps.commands.update(id, changes, gateway, routes, revision(), meta);
  },
  delete: (id, { deps, meta }) => deps.commands.delete(id, meta),
}) {
  @Put(':id/add_router_interface')
  async addInterface(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.interfaceChange(id, await this.deps.commands.addInterface(id, interfaceInput(body), this.api.meta(req)));
  }

  @Put(':id/remove_router_interface')
  async removeInterface(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.interfaceChange(id, await this.deps.commands.removeInterface(id, interfaceInput(body), this.api.meta(req)));
  }

  /** Neutron's answer to an interface added or removed, once the projection shows it. */
  private async interfaceChange(id: string, r: InterfaceResult) {
    await this.api.settled({ id, sequence: r.sequence });
    return {
      id,
      tenant_id: r.projectId,
      project_id: r.projectId,
      port_id: r.portId,
      subnet_id: r.subnetId,
      subnet_ids: r.subnetIds,
      network_id: r.networkId,
      tags: [],
    };
  }

  @Put(':id/add_extraroutes')
  async addExtraRoutes(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(routers, await this.deps.commands.changeRoutes(id, extraRoutesInput(body), [], meta), meta);
  }

  @Put(':id/remove_extraroutes')
  async removeExtraRoutes(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(routers, await this.deps.commands.changeRoutes(id, [], extraRoutesInput(body), meta), meta);
  }

  /**
   * Where the router runs, in the shape of Neutron's l3_agent_scheduler extension: an HA
   * router's agents each with `ha_state` (see {@link shownHaState}), a legacy router's one
   * agent with `ha_state` null.
   */
  @Get(':id/l3-agents')
  async l3Agents(@Param('id') id: string, @Req() req: HttpRequestLike) {
    await this.api.get(routers, id, req);
    const router = await this.deps.prisma.router.findUnique({ where: { id }, include: { haHosts: true } });
    if (!router) return { agents: [] };
    const placed: { host: string; haState: string | null }[] = router.ha
      ? router.haHosts.map((h) => ({ host: h.host, haState: h.haState }))
      : router.host
        ? [{ host: router.host, haState: null }]
        : [];
    const agents = [];
    const anyAlive = placed.some((p) => this.deps.heartbeats.isAlive(p.host));
    for (const p of placed) {
      const agent = await this.deps.prisma.agent.findUnique({ where: { host: p.host } });
      if (!agent) continue;
      const alive = this.deps.heartbeats.isAlive(agent.host);
      const legacy = await this.deps.prisma.router.count({ where: { host: agent.host } });
      const ha = await this.deps.prisma.routerHaHost.count({ where: { host: agent.host } });
      agents.push({
        ...agentWire({
          id: agent.id,
          host: agent.host,
          row: agent.row,
          agentType: 'L3 agent',
          topic: 'l3_agent',
          alive,
          heartbeat: this.deps.heartbeats.heartbeat(agent.host),
          configurations: { routers: legacy + ha, agent_mode: 'legacy' },
        }),
        ha_state: router.ha ? shownHaState(p.haState, alive, anyAlive) : null,
      });
    }
    return { agents };
  }
}

/**
 * An HA router's role on one agent as `l3-agents` shows it, as Neutron does: what a live agent
 * last reported (null before its first report); a dead agent's last report is stale, so it is
 * `standby` while another agent of the router lives (the router is, or becomes, active there)
 * and `unknown` when none does (the router may still forward: nobody can tell).
 */
export function shownHaState(reported: string | null, alive: boolean, anyAgentAlive: boolean): string | null {
  if (alive) return reported;
  return anyAgentAlive ? 'standby' : 'unknown';
}

@Controller('v2.0/floatingips')
export class FloatingIpsController extends neutronResource<L3Prisma, { commands: FloatingIpCommands; catchUp: () => Promise<void>; quota: QuotaUsage }>({
  inject: { commands: FloatingIpCommands, catchUp: CATCH_UP, quota: QuotaUsage },
  reader: floatingIps,
  // A floating IP shows its port's deletion (IPAM's event) as soon as the port is gone: reads
  // first let the projection catch up, best effort (a lagging projection still answers).
  beforeRead: (deps) => deps.catchUp().catch(() => undefined),
  create: (body, { deps, meta }) => {
    const input = createFloatingIpInput(body, meta);
    const id = randomUUID();
    return deps.quota.guard(input.projectId, 'floatingip', [id], meta, () => deps.commands.create(input, meta, id));
  },
  update: async (id, body, { deps, meta, revision: ifMatch }) => {
    const input = updateFloatingIpInput(body);
    const revision = ifMatch();
    let written = { id, sequence: 0 };
    // The association first: it is what may be refused (no such port, no route to it), and a
    // refused update must leave the description as it was. If-Match applies to the first step.
    if (input.hasPort) {
      written =
        input.portId === null || input.portId === undefined
          ? await deps.commands.disassociate(id, revision, meta)
          : await deps.commands.associate(id, input.portId, input.fixedIpAddress, revision, meta);
    }
    if (input.description !== undefined) written = await deps.commands.updateDescription(id, input.description, input.hasPort ? undefined : revision, meta);
    return written;
  },
  delete: (id, { deps, meta }) => deps.commands.delete(id, meta),
}) {}
