import { chooseNetworkAgent, routerInterfaceName, routerNamespace, rowsOfWorkloads, type CommandMetadata } from '@ncp/contracts';
import { type HeartbeatWatcher } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type L3Prisma } from '../infrastructure/prisma';
import { asService, type IpamPorts, type L3WriteModel } from './write-model';

/**
 * Places routers on network agents and binds their ports there: a router port is an
 * IPAM port bound to the router's host, plugged into the router's namespace (as qr-/qg-)
 * by that host's agent like any port.
 */
export class RouterPlacement {
  constructor(
    private readonly prisma: L3Prisma,
    private readonly model: L3WriteModel,
    private readonly ipam: IpamPorts,
    private readonly heartbeats: HeartbeatWatcher,
    private readonly logger: Logger,
  ) {}

  /** Chooses a host for a router that has none; returns its host (or null: no agent fits). */
  async ensureScheduled(routerId: string, meta: CommandMetadata): Promise<string | null> {
    const router = (await this.model.routers.load(routerId)).state;
    if (!router.exists) return null;
    if (router.host !== null) return router.host;
    const agents = await this.prisma.agent.findMany();
    const load = new Map<string, number>();
    for (const r of await this.prisma.router.groupBy({ by: ['host'], _count: { _all: true }, where: { host: { not: null } } })) {
      if (r.host) load.set(r.host, r._count._all);
    }
    let physicalNetwork: string | null = null;
    if (router.gateway) {
      const net = await this.prisma.ipamNetwork.findUnique({ where: { id: router.gateway.networkId } });
      if (net && (net.networkType === 'flat' || net.networkType === 'vlan')) physicalNetwork = net.physicalNetwork;
    }
    const networks = [...router.interfaces.values()].map((i) => i.networkId);
    const bound = await this.prisma.ipamPort.findMany({ where: { networkId: { in: networks }, bindingHostId: { not: '' } }, select: { bindingHostId: true } });
    const preferredRows = rowsOfWorkloads(
      agents,
      bound.map((p) => p.bindingHostId),
    );
    const chosen = chooseNetworkAgent(
      agents.map((a) => ({ host: a.host, row: a.row, roles: a.roles, physnets: a.physnets as Record<string, string>, alive: this.heartbeats.isAlive(a.host) })),
      load,
      { physicalNetwork, preferredRows },
    );
    if (!chosen) {
      this.logger.warn({ routerId, physicalNetwork }, 'no network agent can host the router yet');
      return null;
    }
    // The router decides: if another placement got there first, its host stays.
    const placed = await this.model.routers.execute(routerId, { type: 'Schedule', id: routerId, host: chosen.host, row: chosen.row }, asService(meta));
    await this.bindPorts(routerId, meta);
    return placed.state.host;
  }

  /** Binds the router's ports (or just `onlyPortId`) to its host, in its namespace. */
  async bindPorts(routerId: string, meta: CommandMetadata, onlyPortId?: string): Promise<void> {
    const router = (await this.model.routers.load(routerId)).state;
    if (!router.exists || router.host === null) return;
    const ports: [string, 'internal' | 'gateway'][] = [...router.interfaces.keys()].map((id) => [id, 'internal']);
    if (router.gateway) ports.push([router.gateway.portId, 'gateway']);
    for (const [portId, kind] of ports) {
      if (onlyPortId !== undefined && portId !== onlyPortId) continue;
      await this.ipam.updatePort(portId, this.binding(routerId, router.host, kind, portId), asService(meta));
    }
  }

  private binding(routerId: string, host: string, kind: 'internal' | 'gateway', portId: string): Record<string, unknown> {
    return { 'binding:host_id': host, 'binding:profile': { netns: routerNamespace(routerId), ifname: routerInterfaceName(kind, portId) } };
  }
}
