import { randomUUID } from 'node:crypto';
import { type CommandMetadata } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { type RouterAttributes } from '../domain/router.decider';
import { badRequest, notFound } from '../domain/rules';
import { type IpamClient, type IpamPortWire } from '@ncp/eventstore';
import { type L3Prisma } from '../infrastructure/prisma';
import { ipInCidr, type IpamFacts } from './facts';
import { type RouterPlacement } from './placement';
import { asService, type L3WriteModel, type Written } from './write-model';

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
 */
export class RouterCommands {
  constructor(
    private readonly model: L3WriteModel,
    private readonly facts: IpamFacts,
    private readonly ipam: IpamClient,
    private readonly placement: RouterPlacement,
    private readonly prisma: L3Prisma,
    private readonly catchUp: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async create(input: { projectId: string; attributes: RouterAttributes; gateway?: GatewayInput; routes?: readonly { destination: string; nexthop: string }[] }, meta: CommandMetadata): Promise<Written> {
    const id = randomUUID();
    let r = await this.model.routers.execute(id, { type: 'CreateRouter', id, projectId: input.projectId, attributes: input.attributes }, meta);
    let sequence = r.sequence;
    if (input.gateway) sequence = Math.max(sequence, (await this.setGateway(id, input.gateway, meta)).sequence);
    if (input.routes && input.routes.length > 0) {
      r = await this.model.routers.execute(id, { type: 'SetRoutes', id, routes: input.routes }, meta);
      sequence = Math.max(sequence, r.sequence);
    }
    return { id, sequence };
  }

  async update(
    id: string,
    changes: Partial<RouterAttributes>,
    gateway: GatewayInput | null | undefined,
    routes: readonly { destination: string; nexthop: string }[] | undefined,
    expectedRevision: number | undefined,
    meta: CommandMetadata,
  ): Promise<Written> {
    let sequence = 0;
    if (Object.keys(changes).length > 0 || expectedRevision !== undefined) {
      sequence = (await this.model.routers.execute(id, { type: 'UpdateRouter', id, changes, expectedRevision }, meta)).sequence;
    }
    if (gateway === null) sequence = Math.max(sequence, (await this.clearGateway(id, meta)).sequence);
    else if (gateway !== undefined) sequence = Math.max(sequence, (await this.setGateway(id, gateway, meta)).sequence);
    if (routes !== undefined) sequence = Math.max(sequence, (await this.model.routers.execute(id, { type: 'SetRoutes', id, routes }, meta)).sequence);
    return { id, sequence };
  }

  /** Extra routes added to / removed from the current set (Neutron's extraroute-atomic). */
  async changeRoutes(id: string, add: readonly { destination: string; nexthop: string }[], remove: readonly { destination: string; nexthop: string }[], meta: CommandMetadata): Promise<Written> {
    const current = (await this.model.routers.load(id)).state.routes;
    const key = (r: { destination: string; nexthop: string }) => `${r.destination}|${r.nexthop}`;
    const removed = new Set(remove.map(key));
    const next = [...current.filter((r) => !removed.has(key(r))), ...add.filter((r) => !current.some((c) => key(c) === key(r)))];
    const r = await this.model.routers.execute(id, { type: 'SetRoutes', id, routes: next }, meta);
    return { id, sequence: r.sequence };
  }

  async setGateway(id: string, gateway: GatewayInput, meta: CommandMetadata): Promise<Written> {
    await this.catchUp();
    const router = (await this.model.routers.load(id)).state;
    if (!router.exists) throw notFound('RouterNotFound', `Router ${id} could not be found.`);
    await this.facts.externalNetwork(gateway.networkId);
    const current = router.gateway;
    const sameNetwork = current?.networkId === gateway.networkId;
    const sameIps = gateway.externalFixedIps === undefined || (current !== null && sameFixedIps(current.fixedIps, gateway.externalFixedIps));
    if (current && sameNetwork && sameIps) {
      // Only enable_snat changed: keep the port.
      const r = await this.model.routers.execute(
        id,
        { type: 'SetGateway', id, networkId: current.networkId, enableSnat: gateway.enableSnat, portId: current.portId, fixedIps: current.fixedIps, subnets: current.subnets },
        meta,
      );
      return { id, sequence: r.sequence };
    }
    const port = await this.ipam.createPort(
      {
        network_id: gateway.networkId,
        project_id: router.projectId,
        device_owner: 'network:router_gateway',
        device_id: id,
        ...(gateway.externalFixedIps !== undefined
          ? { fixed_ips: gateway.externalFixedIps.map((f) => ({ ...(f.subnetId ? { subnet_id: f.subnetId } : {}), ...(f.ipAddress ? { ip_address: f.ipAddress } : {}) })) }
          : {}),
      },
      asService(meta),
    );
    try {
      const fixedIps = wireFixedIps(port);
      await this.catchUp();
      const r = await this.model.routers.execute(
        id,
        { type: 'SetGateway', id, networkId: gateway.networkId, enableSnat: gateway.enableSnat, portId: port.id, fixedIps, subnets: await this.facts.attachedSubnets(fixedIps) },
        meta,
      );
      if (current) await this.deletePortQuietly(current.portId, meta);
      await this.placeAndBind(id, meta, port.id);
      return { id, sequence: r.sequence };
    } catch (e) {
      await this.deletePortQuietly(port.id, meta);
      throw e;
    }
  }

  async clearGateway(id: string, meta: CommandMetadata): Promise<Written> {
    const router = (await this.model.routers.load(id)).state;
    const inUse = await this.prisma.floatingIp.count({ where: { routerId: id } });
    const r = await this.model.routers.execute(id, { type: 'ClearGateway', id, floatingIpsThroughGateway: inUse }, meta);
    if (r.event && router.gateway) await this.deletePortQuietly(router.gateway.portId, meta);
    return { id, sequence: r.sequence };
  }

  async addInterface(id: string, input: InterfaceInput, meta: CommandMetadata): Promise<InterfaceResult> {
    await this.catchUp();
    const router = (await this.model.routers.load(id)).state;
    if (!router.exists) throw notFound('RouterNotFound', `Router ${id} could not be found.`);
    if ((input.subnetId === undefined) === (input.portId === undefined)) {
      throw badRequest('Bad router request: Either subnet_id or port_id must be specified.');
    }
    let port: IpamPortWire;
    let created = false;
    if (input.subnetId !== undefined) {
      const subnet = await this.facts.subnet(input.subnetId);
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
      const existing = await this.facts.port(input.portId ?? '');
      if (existing.deviceId !== '') {
        throw badRequest(`Bad router request: Port ${existing.id} is in use by device ${existing.deviceId}.`);
      }
      if (existing.fixedIps.length === 0) throw badRequest(`Bad router request: Router port must have at least one fixed IP.`);
      port = await this.ipam.updatePort(existing.id, { device_owner: 'network:router_interface', device_id: id }, asService(meta));
    }
    try {
      const fixedIps = wireFixedIps(port);
      await this.catchUp();
      const r = await this.model.routers.execute(
        id,
        { type: 'AddInterface', id, portId: port.id, networkId: port.network_id, fixedIps, subnets: await this.facts.attachedSubnets(fixedIps) },
        meta,
      );
      await this.placeAndBind(id, meta, port.id);
      const subnetIds = [...new Set(fixedIps.map((f) => f.subnetId))];
      return { id, projectId: router.projectId, portId: port.id, subnetId: subnetIds[0] ?? '', subnetIds, networkId: port.network_id, sequence: r.sequence };
    } catch (e) {
      if (created) await this.deletePortQuietly(port.id, meta);
      else await this.ipam.updatePort(port.id, { device_owner: '', device_id: '' }, asService(meta)).catch(() => undefined);
      throw e;
    }
  }

  async removeInterface(id: string, input: InterfaceInput, meta: CommandMetadata): Promise<InterfaceResult> {
    const router = (await this.model.routers.load(id)).state;
    if (!router.exists) throw notFound('RouterNotFound', `Router ${id} could not be found.`);
    let portId: string | undefined;
    if (input.portId !== undefined) portId = router.interfaces.has(input.portId) ? input.portId : undefined;
    else if (input.subnetId !== undefined) {
      portId = [...router.interfaces.entries()].find(([, i]) => i.fixedIps.some((f) => f.subnetId === input.subnetId))?.[0];
    }
    if (portId === undefined) {
      throw notFound(
        'RouterInterfaceNotFoundForSubnet',
        input.subnetId !== undefined ? `Router ${id} has no interface on subnet ${input.subnetId}` : `Router ${id} does not have an interface with id ${input.portId ?? ''}`,
      );
    }
    const itf = router.interfaces.get(portId);
    const subnets = itf?.subnets ?? [];
    const fips = await this.prisma.floatingIp.findMany({ where: { routerId: id }, select: { fixedIpAddress: true } });
    const through = fips.filter((f) => f.fixedIpAddress !== null && subnets.some((s) => ipInCidr(f.fixedIpAddress ?? '', s.cidr))).length;
    const r = await this.model.routers.execute(id, { type: 'RemoveInterface', id, portId, floatingIpsThroughInterface: through }, meta);
    await this.deletePortQuietly(portId, meta);
    const subnetIds = subnets.map((s) => s.subnetId);
    return { id, projectId: router.projectId, portId, subnetId: subnetIds[0] ?? '', subnetIds, networkId: itf?.networkId ?? '', sequence: r.sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const router = (await this.model.routers.load(id)).state;
    const r = await this.model.routers.execute(id, { type: 'DeleteRouter', id }, meta);
    if (router.gateway) await this.deletePortQuietly(router.gateway.portId, meta);
    return { id, sequence: r.sequence };
  }

  /**
   * Schedules the router if it has no host yet (binding all its ports there), else binds
   * the new port to the router's host.
   */
  async placeAndBind(id: string, meta: CommandMetadata, newPortId: string): Promise<void> {
    try {
      const before = (await this.model.routers.load(id)).state.host;
      const host = await this.placement.ensureScheduled(id, meta);
      if (host !== null && before === host) await this.placement.bindPorts(id, meta, newPortId);
    } catch (err) {
      // Placement is retried by the background loop; the request itself succeeded.
      this.logger.warn({ err, routerId: id }, 'router placement failed; will retry');
    }
  }

  private async deletePortQuietly(portId: string, meta: CommandMetadata): Promise<void> {
    try {
      await this.ipam.deletePort(portId, asService(meta));
    } catch (err) {
      this.logger.error({ err, portId }, 'could not delete a router port in IPAM');
    }
  }
}

function sameFixedIps(current: readonly { subnetId: string; ipAddress: string }[], wanted: readonly { subnetId?: string; ipAddress?: string }[]): boolean {
  if (current.length !== wanted.length) return false;
  return wanted.every((w) => current.some((c) => (w.subnetId === undefined || w.subnetId === c.subnetId) && (w.ipAddress === undefined || w.ipAddress === c.ipAddress)));
}
