import { randomUUID } from 'node:crypto';
import { policyNotAuthorized, refusedAttribute, type CommandMetadata, type IpamPortWire, type PolicyAction } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { type GatewayState, type Route, type RouterAttributes, type RouterState } from '../domain/router.decider';
import { badRequest, mayChange, notFound } from '../domain/rules';
import { type IpamFacts } from './facts';
import { type FloatingIpCommands } from './floating-ip.commands';
import { type RouterPlacement } from './placement';
import { type HaNetworks } from './ha-networks';
import { asService, certainlyNotWritten, type IpamPorts, type L3WriteModel, type Written } from './write-model';

export interface GatewayInput {
  readonly networkId: string;
  readonly enableSnat: boolean;
  readonly externalFixedIps: readonly { subnetId?: string; ipAddress?: string }[] | undefined;
}

export interface InterfaceInput {
  readonly subnetId?: string;
  readonly portId?: string;
}

export interface InterfaceResult {
  readonly id: string;
  readonly projectId: string;
  readonly portId: string;
  readonly subnetId: string;
  readonly subnetIds: string[];
  readonly networkId: string;
  readonly sequence: number;
}

const wireFixedIps = (port: IpamPortWire) => port.fixed_ips.map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address }));

/**
 * Router requests. Router ports are IPAM ports, so attaching one is a saga: create the
 * port through IPAM's command API, record it on the router, delete the port if the router
 * refuses. Before using IPAM facts, L3 waits for its mirror to have what IPAM has.
 *
 * A compensation frees a port only when the router certainly did not record it (the step
 * was refused); when the outcome is unknown (a timeout, a crash) the port stays, and the
 * orphan sweeper removes it once the router confirms, after a grace period, that it does
 * not hold it.
 */
export class RouterCommands {
  constructor(
    private readonly model: L3WriteModel,
    private readonly facts: IpamFacts,
    private readonly ipam: IpamPorts,
    private readonly placement: RouterPlacement,
    private readonly floatingIps: Pick<FloatingIpCommands, 'letGoIfPortGone'>,
    private readonly catchUp: () => Promise<void>,
    private readonly logger: Logger,
    /** the ha of a router created without one (L3_HA_DEFAULT) */
    readonly haDefault = false,
    private readonly haNetworks?: Pick<HaNetworks, 'release'>,
  ) {}

  /**
   * A router with the gateway and routes it is asked for, all or nothing: the gateway port
   * is made first, then the router with it in one event, so no router exists half made.
   */
  async create(
    input: { projectId: string; attributes: RouterAttributes; gateway?: GatewayInput; routes?: readonly Route[] },
    meta: CommandMetadata,
    id: string = randomUUID(),
  ): Promise<Written> {
    let port: IpamPortWire | undefined;
    if (input.gateway) {
      gatewayPolicy(input.gateway, meta, input.projectId, 'create_router');
      await this.catchUp();
      await this.facts.externalNetwork(input.gateway.networkId, meta);
      port = await this.createGatewayPort(id, input.projectId, input.gateway, meta);
    }
    let sequence: number;
    try {
      const gateway = port && input.gateway ? await this.gatewayState(input.gateway, port) : undefined;
      const command = { type: 'CreateRouter', id, projectId: input.projectId, attributes: input.attributes, gateway, routes: input.routes } as const;
      sequence = (await this.model.routers.execute(id, command, meta)).sequence;
    } catch (e) {
      if (port) await this.undoPort(e, port.id, meta);
      throw e;
    }
    if (port) await this.placeAndBind(id, meta, port.id);
    return { id, sequence };
  }

  async update(
    id: string,
    changes: Partial<RouterAttributes>,
    gateway: GatewayInput | null | undefined,
    routes: readonly Route[] | undefined,
    expectedRevision: number | undefined,
    meta: CommandMetadata,
  ): Promise<Written> {
    const before = await this.ownRouter(id, 'update_router', meta);
    let sequence = 0;
    if (Object.keys(changes).length > 0 || expectedRevision !== undefined) {
      const updated = await this.model.routers.execute(id, { type: 'UpdateRouter', id, changes, expectedRevision }, meta);
      sequence = updated.sequence;
      // migrated to or from HA (it is down): placed again at once, its ports bound anew
      if (updated.state.ha !== before.ha) await this.placeAgain(id, meta);
    }
    if (gateway === null) sequence = Math.max(sequence, (await this.clearGateway(id, meta)).sequence);
    else if (gateway !== undefined) sequence = Math.max(sequence, (await this.setGateway(id, gateway, meta)).sequence);
    if (routes !== undefined) sequence = Math.max(sequence, (await this.model.routers.execute(id, { type: 'SetRoutes', id, routes }, meta)).sequence);
    return { id, sequence };
  }

  /**
   * Extra routes added to / removed from the current set (Neutron's extraroute-atomic). The
   * router decides the new set on its current state, so concurrent changes all land.
   */
  async changeRoutes(id: string, add: readonly Route[], remove: readonly Route[], meta: CommandMetadata): Promise<Written> {
    const r = await this.model.routers.execute(id, { type: 'ChangeRoutes', id, add, remove }, meta);
    return { id, sequence: r.sequence };
  }

  async setGateway(id: string, gateway: GatewayInput, meta: CommandMetadata): Promise<Written> {
    await this.catchUp();
    const router = await this.ownRouter(id, 'update_router', meta);
    gatewayPolicy(gateway, meta, router.projectId, 'update_router');
    await this.facts.externalNetwork(gateway.networkId, meta);
    const current = router.gateway;
    const sameNetwork = current?.networkId === gateway.networkId;
    const sameIps = gateway.externalFixedIps === undefined || (current !== null && sameFixedIps(current.fixedIps, gateway.externalFixedIps));
    if (current && sameNetwork && sameIps) {
      // Only enable_snat changed: keep the port.
      const r = await this.model.routers.execute(id, { type: 'SetGateway', id, ...current, enableSnat: gateway.enableSnat }, meta);
      return { id, sequence: r.sequence };
    }
    const port = await this.createGatewayPort(id, router.projectId, gateway, meta);
    let sequence: number;
    try {
      sequence = (await this.model.routers.execute(id, { type: 'SetGateway', id, ...(await this.gatewayState(gateway, port)) }, meta)).sequence;
    } catch (e) {
      await this.undoPort(e, port.id, meta);
      throw e;
    }
    // The router holds the new port now; the old one is free to go.
    if (current) await this.deletePortQuietly(current.portId, meta);
    await this.placeAndBind(id, meta, port.id);
    return { id, sequence };
  }

  async clearGateway(id: string, meta: CommandMetadata): Promise<Written> {
    await this.settleFloatingIps(id, () => true, meta);
    const r = await this.model.routers.execute(id, { type: 'ClearGateway', id }, meta);
    const cleared = r.event?.envelope.data;
    if (cleared && 'portId' in cleared) await this.deletePortQuietly(cleared.portId, meta);
    return { id, sequence: r.sequence };
  }

  async addInterface(id: string, input: InterfaceInput, meta: CommandMetadata): Promise<InterfaceResult> {
    await this.catchUp();
    const router = await this.ownRouter(id, 'add_router_interface', meta);
    if ((input.subnetId === undefined) === (input.portId === undefined)) {
      throw badRequest('Bad router request: Either subnet_id or port_id must be specified.');
    }
    let port: IpamPortWire;
    let created = false;
    if (input.subnetId !== undefined) {
      const subnet = await this.facts.subnetForInterface(input.subnetId, meta);
      // Checked here too (the router decides it again below) so that IPAM's refusal of the
      // gateway address, already taken by the first interface, does not mask the reason.
      if ([...router.interfaces.values()].some((i) => i.subnets.some((s) => s.subnetId === subnet.id))) {
        throw badRequest(`Router already has a port on subnet ${subnet.id}.`);
      }
      if (subnet.gatewayIp === null) throw badRequest(`Bad router request: Subnet ${subnet.id} does not have a gateway IP.`);
      port = await this.ipam.createPort(
        {
          network_id: subnet.networkId,
          project_id: router.projectId,
          device_owner: 'network:router_interface',
          device_id: id,
          fixed_ips: [{ subnet_id: subnet.id, ip_address: subnet.gatewayIp }],
        },
        asService(meta),
      );
      created = true;
    } else {
      const existing = await this.facts.portForInterface(input.portId ?? '', meta);
      if (existing.deviceId !== '') {
        throw badRequest(`Bad router request: Port ${existing.id} is in use by device ${existing.deviceId}.`);
      }
      if (existing.fixedIps.length === 0) throw badRequest(`Bad router request: Router port must have at least one fixed IP.`);
      port = await this.ipam.updatePort(existing.id, { device_owner: 'network:router_interface', device_id: id }, asService(meta));
    }
    const fixedIps = wireFixedIps(port);
    let sequence: number;
    try {
      await this.catchUp();
      const subnets = await this.facts.attachedSubnets(fixedIps);
      sequence = (await this.model.routers.execute(id, { type: 'AddInterface', id, portId: port.id, networkId: port.network_id, fixedIps, subnets }, meta))
        .sequence;
    } catch (e) {
      if (created) await this.undoPort(e, port.id, meta);
      else if (certainlyNotWritten(e)) {
        await this.ipam.updatePort(port.id, { device_owner: '', device_id: '' }, asService(meta)).catch((err: unknown) => {
          this.logger.error({ err, portId: port.id }, 'could not give a port back after a refused router interface; the orphan sweeper will');
        });
      }
      throw e;
    }
    await this.placeAndBind(id, meta, port.id);
    const subnetIds = [...new Set(fixedIps.map((f) => f.subnetId))];
    return { id, projectId: router.projectId, portId: port.id, subnetId: subnetIds[0] ?? '', subnetIds, networkId: port.network_id, sequence };
  }

  async removeInterface(id: string, input: InterfaceInput, meta: CommandMetadata): Promise<InterfaceResult> {
    const router = await this.ownRouter(id, 'remove_router_interface', meta);
    let portId: string | undefined;
    if (input.portId !== undefined) portId = router.interfaces.has(input.portId) ? input.portId : undefined;
    else if (input.subnetId !== undefined) {
      portId = [...router.interfaces.entries()].find(([, i]) => i.fixedIps.some((f) => f.subnetId === input.subnetId))?.[0];
    }
    if (portId === undefined) {
      throw notFound(
        'RouterInterfaceNotFoundForSubnet',
        input.subnetId !== undefined
          ? `Router ${id} has no interface on subnet ${input.subnetId}`
          : `Router ${id} does not have an interface with id ${input.portId ?? ''}`,
      );
    }
    const itf = router.interfaces.get(portId);
    const subnets = itf?.subnets ?? [];
    await this.settleFloatingIps(id, (f) => subnets.some((s) => s.subnetId === f.subnetId), meta);
    const r = await this.model.routers.execute(id, { type: 'RemoveInterface', id, portId }, meta);
    await this.deletePortQuietly(portId, meta);
    const subnetIds = subnets.map((s) => s.subnetId);
    return { id, projectId: router.projectId, portId, subnetId: subnetIds[0] ?? '', subnetIds, networkId: itf?.networkId ?? '', sequence: r.sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const r = await this.model.routers.execute(id, { type: 'DeleteRouter', id }, meta);
    // The gateway the router had when it was deleted (not when this request began).
    const gateway = r.state.gateway;
    if (gateway) await this.deletePortQuietly(gateway.portId, meta);
    // an HA router's ports on its HA network, and its VRID there
    for (const h of r.state.haPlacement?.hosts ?? []) await this.deletePortQuietly(h.haPortId, meta);
    if (r.state.haPlacement) {
      await this.haNetworks?.release(r.state.projectId, id, meta).catch((err: unknown) => {
        this.logger.warn({ err, routerId: id }, 'could not release the VRID of a deleted HA router');
      });
    }
    return { id, sequence: r.sequence };
  }

  /** A router whose HA mode changed: on its new hosts (the placement loop retries a failure). */
  private async placeAgain(id: string, meta: CommandMetadata): Promise<void> {
    try {
      await this.placement.migrated(id, meta);
    } catch (err) {
      this.logger.warn({ err, routerId: id }, 'router placement after an HA migration failed; will retry');
    }
  }

  /**
   * Schedules the router if it has no host yet (binding all its ports there), else binds
   * the new port to the router's host.
   */
  async placeAndBind(id: string, meta: CommandMetadata, newPortId: string): Promise<void> {
    try {
      const router = (await this.model.routers.load(id)).state;
      const host = await this.placement.ensureScheduled(id, meta);
      // an HA router keeps its hosts: the new port is bound to them (again, if they just changed)
      if (host !== null && (router.ha || router.host === host)) await this.placement.bindPorts(id, meta, newPortId);
    } catch (err) {
      // Placement is retried by the background loop; the request itself succeeded.
      this.logger.warn({ err, routerId: id }, 'router placement failed; will retry');
    }
  }

  /**
   * Before the router decides on the floating IPs it records, those whose port was just
   * deleted let it go: the reaction to IPAM's PortDeleted does it too, a moment later, and
   * a client that deletes a port and then the interface behind it (Tempest's clean-ups, as
   * Neutron allows) must not find the router still holding it. Idempotent, like the reaction;
   * an association under way is left alone (see letGoIfPortGone).
   */
  private async settleFloatingIps(id: string, which: (f: { fixedIpAddress: string; subnetId: string }) => boolean, meta: CommandMetadata): Promise<void> {
    const recorded = [...(await this.model.routers.load(id)).state.floatingIps].filter(([, f]) => which(f));
    if (recorded.length === 0) return;
    await this.catchUp();
    for (const [floatingIpId] of recorded) await this.floatingIps.letGoIfPortGone(floatingIpId, id, asService(meta));
  }

  /**
   * The router if the caller may change it; else a 404 that says no more than a missing one
   * (when the caller cannot see it) or Neutron's 403 naming the rule.
   */
  private async ownRouter(id: string, action: PolicyAction, meta: CommandMetadata): Promise<RouterState> {
    const router = (await this.model.routers.load(id)).state;
    const missing = () => notFound('RouterNotFound', `Router ${id} could not be found.`);
    if (!router.exists) throw missing();
    mayChange(meta, 'get_router', action, { projectId: router.projectId }, missing);
    return router;
  }

  private createGatewayPort(routerId: string, projectId: string, gateway: GatewayInput, meta: CommandMetadata): Promise<IpamPortWire> {
    return this.ipam.createPort(
      {
        network_id: gateway.networkId,
        project_id: projectId,
        device_owner: 'network:router_gateway',
        device_id: routerId,
        ...(gateway.externalFixedIps !== undefined
          ? {
              fixed_ips: gateway.externalFixedIps.map((f) => ({
                ...(f.subnetId ? { subnet_id: f.subnetId } : {}),
                ...(f.ipAddress ? { ip_address: f.ipAddress } : {}),
              })),
            }
          : {}),
      },
      asService(meta),
    );
  }

  /**
   * The gateway as the router records it. The port's addresses and their subnets' CIDRs come
   * from IPAM: the port was made for this router alone, and a subnet's CIDR never changes.
   */
  private async gatewayState(gateway: GatewayInput, port: IpamPortWire): Promise<GatewayState> {
    const fixedIps = wireFixedIps(port);
    await this.catchUp();
    return { networkId: gateway.networkId, enableSnat: gateway.enableSnat, portId: port.id, fixedIps, subnets: await this.facts.attachedSubnets(fixedIps) };
  }

  /** Frees a port the router refused; leaves it to the orphan sweeper when the router may hold it. */
  private async undoPort(cause: unknown, portId: string, meta: CommandMetadata): Promise<void> {
    if (certainlyNotWritten(cause)) await this.deletePortQuietly(portId, meta);
    else this.logger.warn({ err: cause, portId }, 'router step failed with an unknown outcome: its port stays for the orphan sweeper');
  }

  private async deletePortQuietly(portId: string, meta: CommandMetadata): Promise<void> {
    try {
      await this.ipam.deletePort(portId, asService(meta));
    } catch (err) {
      this.logger.error({ err, portId }, 'could not delete a router port in IPAM; the orphan sweeper will');
    }
  }
}

/**
 * Neutron's policy on a router's gateway (<action>:external_gateway_info:*): only an admin
 * chooses its addresses on the external network (which every project shares; others get the
 * next free one). (`enable_snat`, also admin-only, is checked on the request body by the
 * shared controller: the input here has its default filled in.)
 */
function gatewayPolicy(gateway: GatewayInput, meta: CommandMetadata, projectId: string, action: 'create_router' | 'update_router'): void {
  const set = ['external_gateway_info', 'external_gateway_info:network_id'];
  if (gateway.externalFixedIps !== undefined) set.push('external_gateway_info:external_fixed_ips');
  const refused = refusedAttribute(action, meta, { projectId }, set);
  if (refused !== undefined) throw policyNotAuthorized('L3', refused);
}

function sameFixedIps(current: readonly { subnetId: string; ipAddress: string }[], wanted: readonly { subnetId?: string; ipAddress?: string }[]): boolean {
  if (current.length !== wanted.length) return false;
  return wanted.every((w) =>
    current.some((c) => (w.subnetId === undefined || w.subnetId === c.subnetId) && (w.ipAddress === undefined || w.ipAddress === c.ipAddress)),
  );
}
