import {
  agentCandidates,
  chooseHaAgents,
  chooseNetworkAgent,
  haInterfaceName,
  routerInterfaceName,
  routerNamespace,
  rowsOfWorkloads,
  type CommandMetadata,
} from '@ncp/contracts';
import { type HeartbeatWatcher } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type HaHost, type RouterState } from '../domain/router.decider';
import { type L3Prisma } from '../infrastructure/prisma';
import { type HaNetworks } from './ha-networks';
import { asService, type IpamPorts, type L3WriteModel } from './write-model';

/** Neutron's device_owner of an HA router's ports on its HA network. */
export const HA_PORT_OWNER = 'network:router_ha_interface';

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
    private readonly haNetworks: HaNetworks,
  ) {}

  /**
   * Chooses a host for a router that has none; returns its host (or null: no agent fits). A
   * router that was an HA router lets its HA hosts go first (see `leaveOtherKind`).
   */
  async ensureScheduled(routerId: string, meta: CommandMetadata): Promise<string | null> {
    let router = (await this.model.routers.load(routerId)).state;
    if (!router.exists) return null;
    if (router.ha) return (await this.ensureHaHosts(routerId, meta))[0] ?? null;
    router = await this.leaveOtherKind(routerId, router, meta);
    if (router.host !== null) return router.host;
    const { candidates, load, needs } = await this.schedulingInputs(router);
    const chosen = chooseNetworkAgent(candidates, load, needs);
    const physicalNetwork = needs.physicalNetwork;
    if (!chosen) {
      this.logger.warn({ routerId, physicalNetwork }, 'no network agent can host the router yet');
      return null;
    }
    // The router decides: if another placement got there first, its host stays.
    const placed = await this.model.routers.execute(routerId, { type: 'Schedule', id: routerId, host: chosen.host, row: chosen.row }, asService(meta));
    await this.bindPorts(routerId, meta);
    return placed.state.host;
  }

  /**
   * An HA router's hosts: two live network agents, in different rows when there are (see
   * chooseHaAgents), the ones it runs on kept and a dead one replaced; each gets its HA port
   * on the project's HA network (made on first need), bound there; a replaced host's HA port
   * is deleted. The router's qr-/qg- ports are then bound to all its hosts. Returns the hosts.
   */
  async ensureHaHosts(routerId: string, meta: CommandMetadata): Promise<string[]> {
    // one placement of a router at a time in this process (the loop may overlap a request);
    // across processes the router refuses a second one (see SetHaHosts' `seen`)
    const running = this.haPlacing.get(routerId);
    if (running) return running;
    const placing = this.placeHa(routerId, meta).finally(() => this.haPlacing.delete(routerId));
    this.haPlacing.set(routerId, placing);
    return placing;
  }

  private readonly haPlacing = new Map<string, Promise<string[]>>();

  /**
   * A legacy router whose host's agent is dead (no heartbeat for AGENT_DOWN_SECONDS) moves to
   * the live network agent that would be chosen for it now, its ports bound there; it stays
   * while no other agent can take it. Neutron's allow_automatic_l3agent_failover, always on:
   * the dead host, if it comes back, has no intent for the router and sweeps its namespace.
   * Returns the new host, or null.
   */
  async moveFromDeadHost(routerId: string, meta: CommandMetadata): Promise<string | null> {
    const router = (await this.model.routers.load(routerId)).state;
    const from = router.host;
    if (!router.exists || router.ha || from === null || !this.heartbeats.isDead(from)) return null;
    const { candidates, load, needs } = await this.schedulingInputs(router);
    const chosen = chooseNetworkAgent(
      candidates.filter((c) => c.host !== from),
      load,
      needs,
    );
    if (!chosen) return null;
    const moved = await this.model.routers.execute(routerId, { type: 'Reschedule', id: routerId, from, host: chosen.host, row: chosen.row }, asService(meta));
    if (moved.event === null) return null;
    this.logger.warn({ routerId, from, to: chosen.host }, 'router moved off a dead agent');
    await this.bindPorts(routerId, meta);
    return chosen.host;
  }

  /**
   * A router migrated to or from HA: the placement of its old kind goes (the one host, or the
   * HA hosts with their ports and VRID), and one of its new kind comes if it has ports (placing
   * it binds them there).
   */
  async migrated(routerId: string, meta: CommandMetadata): Promise<void> {
    const router = (await this.model.routers.load(routerId)).state;
    if (!router.exists) return;
    const after = await this.leaveOtherKind(routerId, router, meta);
    if (after.gateway !== null || after.interfaces.size > 0) await this.ensureScheduled(routerId, meta);
  }

  /**
   * The placement of the kind a migrated router no longer is goes (Neutron's migration, while
   * it is down): an HA router leaves its one host; a legacy router's HA hosts go (the router
   * refuses if they changed meanwhile; the next pass tries again), then their HA ports and its
   * VRID. Returns the router after.
   */
  private async leaveOtherKind(routerId: string, router: RouterState, meta: CommandMetadata): Promise<RouterState> {
    const service = asService(meta);
    if (router.ha) return router.host === null ? router : (await this.model.routers.execute(routerId, { type: 'Unschedule', id: routerId }, service)).state;
    const placement = router.haPlacement;
    if (placement === null || placement.hosts.length === 0) return router;
    const seen = placement.hosts.map((h) => h.haPortId);
    const after = await this.model.routers.execute(
      routerId,
      { type: 'SetHaHosts', id: routerId, vrid: placement.vrid, networkId: placement.networkId, hosts: [], seen },
      service,
    );
    for (const portId of seen) await this.deletePortQuietly(portId, service);
    await this.haNetworks.release(router.projectId, routerId, service);
    return after.state;
  }

  private async placeHa(routerId: string, meta: CommandMetadata): Promise<string[]> {
    let router = (await this.model.routers.load(routerId)).state;
    if (!router.exists || !router.ha) return [];
    // placed on one host before it became an HA router: that instance goes, the HA ones come
    router = await this.leaveOtherKind(routerId, router, meta);
    const current = router.haPlacement?.hosts ?? [];
    const inputs = await this.schedulingInputs(router);
    const { load, needs } = inputs;
    // a host the router runs on is replaced only once known dead, not while its heartbeat has
    // not been read yet (a restarted L3)
    const candidates = inputs.candidates.map((c) => (current.some((h) => h.host === c.host) ? { ...c, alive: !this.heartbeats.isDead(c.host) } : c));
    const chosen = chooseHaAgents(
      candidates,
      load,
      needs,
      current.map((h) => h.host),
    );
    if (chosen.length === 0) {
      this.logger.warn({ routerId }, 'no network agent can host the HA router yet');
      return current.map((h) => h.host);
    }
    const unchanged = router.haPlacement !== null && chosen.length === current.length && chosen.every((a, i) => current[i]?.host === a.host);
    if (unchanged) return current.map((h) => h.host);
    const service = asService(meta);
    const { networkId, vrid } = await this.haNetworks.ensure(router.projectId, routerId, service);
    const hosts: HaHost[] = [];
    const created: string[] = [];
    try {
      for (const agent of chosen) {
        const kept = current.find((h) => h.host === agent.host);
        if (kept && router.haPlacement?.networkId === networkId) {
          hosts.push(kept);
          continue;
        }
        // of no project, as Neutron's: the tenant does not see its routers' HA ports
        const port = await this.ipam.createPort(
          { network_id: networkId, project_id: '', device_owner: HA_PORT_OWNER, device_id: routerId, name: `HA port tenant ${router.projectId}` },
          service,
        );
        created.push(port.id);
        await this.ipam.updatePort(
          port.id,
          { 'binding:host_id': agent.host, 'binding:profile': { netns: routerNamespace(routerId), ifname: haInterfaceName(port.id) } },
          service,
        );
        hosts.push({ host: agent.host, row: agent.row, haPortId: port.id });
      }
      await this.model.routers.execute(routerId, { type: 'SetHaHosts', id: routerId, vrid, networkId, hosts, seen: current.map((h) => h.haPortId) }, service);
    } catch (e) {
      for (const id of created) await this.deletePortQuietly(id, service);
      throw e;
    }
    // the hosts replaced (dead, or no longer qualifying): their HA ports go
    for (const gone of current.filter((h) => !hosts.some((k) => k.haPortId === h.haPortId))) await this.deletePortQuietly(gone.haPortId, service);
    await this.bindPorts(routerId, meta);
    return hosts.map((h) => h.host);
  }

  private async deletePortQuietly(portId: string, meta: CommandMetadata): Promise<void> {
    await this.ipam.deletePort(portId, meta).catch((err: unknown) => {
      this.logger.warn({ err, portId }, 'could not delete an HA port; the orphan sweeper will');
    });
  }

  /** What choosing a router's agents depends on: the agents, their load, the physical network and rows of its workloads. */
  private async schedulingInputs(router: RouterState) {
    const agents = await this.prisma.agent.findMany();
    const load = new Map<string, number>();
    for (const r of await this.prisma.router.groupBy({ by: ['host'], _count: { _all: true }, where: { host: { not: null } } })) {
      if (r.host) load.set(r.host, r._count._all);
    }
    for (const r of await this.prisma.routerHaHost.groupBy({ by: ['host'], _count: { _all: true } })) {
      load.set(r.host, (load.get(r.host) ?? 0) + r._count._all);
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
    const candidates = agentCandidates(agents, (host) => this.heartbeats.isAlive(host));
    return { candidates, load, needs: { physicalNetwork, preferredRows } };
  }

  /** Binds the router's ports (or just `onlyPortId`) to its host, in its namespace. */
  async bindPorts(routerId: string, meta: CommandMetadata, onlyPortId?: string): Promise<void> {
    const router = (await this.model.routers.load(routerId)).state;
    const haHosts = router.ha ? (router.haPlacement?.hosts.map((h) => h.host) ?? []) : [];
    const host = router.ha ? (haHosts[0] ?? null) : router.host;
    if (!router.exists || host === null) return;
    const ports: [string, 'internal' | 'gateway'][] = [...router.interfaces.keys()].map((id) => [id, 'internal']);
    if (router.gateway) ports.push([router.gateway.portId, 'gateway']);
    for (const [portId, kind] of ports) {
      if (onlyPortId !== undefined && portId !== onlyPortId) continue;
      await this.ipam.updatePort(portId, this.binding(routerId, host, haHosts, kind, portId), asService(meta));
    }
  }

  /** An HA router's ports are plugged on all its hosts (the profile's `hosts`): keepalived decides where they carry addresses. */
  private binding(routerId: string, host: string, haHosts: readonly string[], kind: 'internal' | 'gateway', portId: string): Record<string, unknown> {
    const profile = { netns: routerNamespace(routerId), ifname: routerInterfaceName(kind, portId) };
    return { 'binding:host_id': host, 'binding:profile': haHosts.length > 0 ? { ...profile, hosts: [...haHosts] } : profile };
  }
}
