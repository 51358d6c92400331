import { randomUUID } from 'node:crypto';
import { L3_REGISTRY_ID, enforce, type CommandMetadata } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { parseIp } from '@ncp/netaddr';
import { type FloatingIpState } from '../domain/floating-ip.decider';
import { claimKey } from '../domain/registry.decider';
import { badRequest, checkRevision, mayChange, notFound, unreachable } from '../domain/rules';
import { type L3Prisma } from '../infrastructure/prisma';
import { type IpamFacts } from './facts';
import { asService, certainlyNotWritten, type IpamPorts, type L3WriteModel, type Written } from './write-model';

export interface CreateFloatingIpInput {
  readonly projectId: string;
  readonly floatingNetworkId: string;
  readonly floatingIpAddress?: string;
  readonly subnetId?: string;
  readonly portId?: string;
  readonly fixedIpAddress?: string;
  readonly description: string;
}

/** What a settlement brings in line with a floating IP: registry claims (port, fixed ip) and routers. */
export interface Touched {
  readonly claims: readonly { portId: string; fixedIpAddress: string }[];
  readonly routers: readonly string[];
}

/**
 * Floating IPs. The address is an IPAM port (device_owner network:floatingip) on the
 * external network; association is a saga over three aggregates: the L3 registry (one
 * floating IP per fixed address), the router it goes through (which records it, and so keeps
 * the gateway and interface it needs) and the floating IP itself, the source of truth.
 * A failed or interrupted saga is settled from the floating IP's own state (`settle`), by the
 * request that failed or, after a crash, by the orphan sweeper.
 */
export class FloatingIpCommands {
  constructor(
    private readonly model: L3WriteModel,
    private readonly facts: IpamFacts,
    private readonly ipam: IpamPorts,
    private readonly prisma: L3Prisma,
    private readonly catchUp: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async create(input: CreateFloatingIpInput, meta: CommandMetadata, id: string = randomUUID()): Promise<Written> {
    // Neutron's policy: only an admin (or the project's manager) picks an address of the shared external network.
    if (input.floatingIpAddress !== undefined) enforce('L3', 'create_floatingip:floating_ip_address', meta, { projectId: input.projectId });
    await this.catchUp();
    const network = await this.facts.externalNetwork(input.floatingNetworkId, meta).catch((e: unknown) => {
      if (e instanceof Error && /not a valid external network/.test(e.message)) {
        throw badRequest(`Bad floatingip request: Network ${input.floatingNetworkId} is not a valid external network.`);
      }
      throw e;
    });
    let fixedIps: { subnet_id?: string; ip_address?: string }[];
    if (input.floatingIpAddress !== undefined) fixedIps = [{ ip_address: input.floatingIpAddress, ...(input.subnetId ? { subnet_id: input.subnetId } : {}) }];
    else if (input.subnetId !== undefined) fixedIps = [{ subnet_id: input.subnetId }];
    else {
      // Floating IPs are IPv4: the first IPv4 subnet of the external network.
      const v4 = (await this.facts.subnetsOfNetwork(network.id)).find((s) => s.ipVersion === 4);
      if (!v4) throw badRequest(`Bad floatingip request: Network ${network.id} has no IPv4 subnet.`);
      fixedIps = [{ subnet_id: v4.id }];
    }
    const port = await this.ipam.createPort(
      { network_id: network.id, project_id: input.projectId, device_owner: 'network:floatingip', device_id: id, fixed_ips: fixedIps },
      asService(meta),
    );
    const address = port.fixed_ips.find((f) => parseIp(f.ip_address).version === 4);
    let sequence: number;
    try {
      if (!address) throw badRequest('Bad floatingip request: a floating IP needs an IPv4 address.');
      const command = {
        type: 'CreateFloatingIp',
        id,
        projectId: input.projectId,
        description: input.description,
        floatingNetworkId: network.id,
        floatingPortId: port.id,
        subnetId: address.subnet_id,
        floatingIpAddress: address.ip_address,
      } as const;
      sequence = (await this.model.floatingIps.execute(id, command, meta)).sequence;
    } catch (e) {
      // Its address is freed only if no floating IP can hold it; else the sweeper decides.
      if (certainlyNotWritten(e)) await this.deletePortQuietly(port.id, meta);
      else
        this.logger.warn({ err: e, portId: port.id, floatingIpId: id }, 'floating IP creation has an unknown outcome: its port stays for the orphan sweeper');
      throw e;
    }
    if (input.portId !== undefined) {
      try {
        sequence = (await this.associate(id, input.portId, input.fixedIpAddress, undefined, meta)).sequence;
      } catch (e) {
        // The floating IP exists: it goes as a whole (its port after it), never its port alone.
        await this.delete(id, asService(meta)).catch((err: unknown) =>
          this.logger.error({ err, floatingIpId: id }, 'could not undo a floating IP; the orphan sweeper will'),
        );
        throw e;
      }
    }
    return { id, sequence };
  }

  async associate(id: string, portId: string, fixedIp: string | undefined, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    await this.catchUp();
    const fip = (await this.model.floatingIps.load(id)).state;
    const missing = () => notFound('FloatingIPNotFound', `Floating IP ${id} could not be found`);
    if (!fip.exists) throw missing();
    mayChange(meta, 'get_floatingip', 'update_floatingip', { projectId: fip.projectId }, missing);
    checkRevision(fip.revision, expectedRevision);
    const port = await this.facts.port(portId);
    if (!meta.isAdmin && port.projectId !== meta.projectId) throw notFound('PortNotFound', `Port ${portId} could not be found.`);
    const v4 = port.fixedIps.filter((f) => parseIp(f.ipAddress).version === 4);
    const chosen = fixedIp !== undefined ? v4.find((f) => f.ipAddress === fixedIp) : v4[0];
    if (fixedIp !== undefined && !chosen) throw badRequest(`Bad floatingip request: Port ${portId} does not have fixed ip ${fixedIp}.`);
    if (fixedIp === undefined && v4.length > 1) {
      throw badRequest(
        `Bad floatingip request: Port ${portId} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP.`,
      );
    }
    if (!chosen) throw badRequest(`Bad floatingip request: Cannot add floating IP to port ${portId} that has no fixed IPv4 addresses.`);
    // A candidate from the projection; the router itself decides below, on its current state.
    const routerId = await this.routerFor(chosen.subnetId, fip.floatingNetworkId);
    if (routerId === null) throw unreachable(fip.floatingNetworkId, chosen.subnetId, portId);
    const ipAddress = chosen.ipAddress;
    const service = asService(meta);
    await this.model.registryCommand({ type: 'ClaimFixedIp', portId, fixedIpAddress: ipAddress, floatingIpId: id, floatingIpAddress: '' }, meta);
    let sequence: number;
    try {
      const attach = {
        type: 'AttachFloatingIp',
        id: routerId,
        floatingIpId: id,
        floatingNetworkId: fip.floatingNetworkId,
        portId,
        fixedIpAddress: ipAddress,
        subnetId: chosen.subnetId,
      } as const;
      await this.model.routers.execute(routerId, attach, service);
      sequence = (await this.model.floatingIps.execute(id, { type: 'Associate', id, portId, fixedIpAddress: ipAddress, routerId, expectedRevision }, meta))
        .sequence;
    } catch (e) {
      await this.settleQuietly(id, { claims: [{ portId, fixedIpAddress: ipAddress }], routers: [routerId] }, service);
      throw e;
    }
    await this.settleQuietly(id, previous(fip), service);
    return { id, sequence };
  }

  async disassociate(id: string, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const fip = (await this.model.floatingIps.load(id)).state;
    const r = await this.model.floatingIps.execute(id, { type: 'Disassociate', id, expectedRevision }, meta);
    if (r.event) await this.settleQuietly(id, previous(fip), asService(meta));
    return { id, sequence: r.sequence };
  }

  /**
   * IPAM deleted a port (a fact): every floating IP on it lets it go, as Neutron disassociates
   * floating IPs on port delete; its fixed address may go to another port, of another project.
   * Idempotent: a redelivered event finds nothing left to do.
   */
  async forgetPort(portId: string, meta: CommandMetadata): Promise<number> {
    await this.catchUp();
    const registry = (await this.model.registry.load(L3_REGISTRY_ID)).state;
    const claimed = [...registry.claims.entries()].filter(([key]) => key.startsWith(`${portId}|`)).map(([, fipId]) => fipId);
    const associated = (await this.prisma.floatingIp.findMany({ where: { portId }, select: { id: true } })).map((f) => f.id);
    let forgotten = 0;
    for (const id of new Set([...claimed, ...associated])) {
      const fip = (await this.model.floatingIps.load(id)).state;
      const r = await this.model.floatingIps.execute(id, { type: 'ForgetPort', id, portId }, meta);
      if (r.event) forgotten++;
      const claims = [...registry.claims.entries()]
        .filter(([key, holder]) => holder === id && key.startsWith(`${portId}|`))
        .map(([key]) => ({ portId, fixedIpAddress: key.slice(portId.length + 1) }));
      // The routers that recorded it too: after a crash halfway, the floating IP no longer names its router.
      const recorded = (await this.prisma.routerFloatingIp.findMany({ where: { floatingIpId: id }, select: { routerId: true } })).map((r) => r.routerId);
      await this.settle(id, { claims, routers: [...(fip.routerId !== null ? [fip.routerId] : []), ...recorded] }, meta);
    }
    return forgotten;
  }

  async updateDescription(id: string, description: string, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const r = await this.model.floatingIps.execute(id, { type: 'UpdateDescription', id, description, expectedRevision }, meta);
    return { id, sequence: r.sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const fip = (await this.model.floatingIps.load(id)).state;
    if (fip.exists && fip.portId !== null) await this.disassociate(id, undefined, meta);
    const r = await this.model.floatingIps.execute(id, { type: 'DeleteFloatingIp', id }, meta);
    // The floating IP is gone for sure: its address may be freed.
    await this.deletePortQuietly(fip.floatingPortId, meta);
    return { id, sequence: r.sequence };
  }

  /**
   * What an external network's deletion asks of L3 (as Neutron does it): its floating IPs that
   * no port is associated with are deleted, with their ports, so that only associated ones
   * keep the network in use. Each floating IP decides for itself whether it is unassociated.
   * @returns the ids deleted
   */
  async deleteUnassociatedOn(networkId: string, meta: CommandMetadata): Promise<string[]> {
    await this.catchUp();
    const candidates = await this.prisma.floatingIp.findMany({
      where: { floatingNetworkId: networkId, portId: null },
      select: { id: true, floatingPortId: true },
    });
    const deleted: string[] = [];
    for (const { id, floatingPortId } of candidates) {
      const r = await this.model.floatingIps.execute(id, { type: 'DeleteFloatingIp', id, onlyIfUnassociated: true }, asService(meta));
      if (r.event === null) continue;
      // Not quietly: the network's deletion waits for these ports to be gone.
      await this.ipam.deletePort(floatingPortId, asService(meta));
      deleted.push(id);
    }
    return deleted;
  }

  /**
   * Brings the registry claims and router records a saga touched in line with the floating
   * IP's own state, read fresh from the stream: a claim or record it holds is kept (made
   * again if missing), any other is released. Each step is decided by its aggregate, so it is
   * idempotent and safe to repeat after a crash.
   */
  async settle(id: string, touched: Touched, meta: CommandMetadata): Promise<void> {
    let fip = (await this.model.floatingIps.load(id)).state;
    if (fip.exists && fip.portId !== null && fip.fixedIpAddress !== null && !(await this.portKnown(fip.portId))) {
      // Its port is gone (IPAM's PortDeleted is here) and the reaction to it did not finish.
      const gone = { claims: [{ portId: fip.portId, fixedIpAddress: fip.fixedIpAddress }], routers: fip.routerId !== null ? [fip.routerId] : [] };
      fip = (await this.model.floatingIps.execute(id, { type: 'ForgetPort', id, portId: fip.portId }, meta)).state;
      touched = { claims: [...touched.claims, ...gone.claims], routers: [...touched.routers, ...gone.routers] };
    }
    const held =
      fip.exists && fip.portId !== null && fip.fixedIpAddress !== null
        ? { portId: fip.portId, fixedIpAddress: fip.fixedIpAddress, routerId: fip.routerId }
        : null;
    const holds = (c: { portId: string; fixedIpAddress: string }) =>
      held !== null && claimKey(c.portId, c.fixedIpAddress) === claimKey(held.portId, held.fixedIpAddress);
    for (const c of touched.claims) {
      if (holds(c)) await this.model.registryCommand({ type: 'ClaimFixedIp', ...c, floatingIpId: id, floatingIpAddress: '' }, meta);
      else await this.model.registryCommand({ type: 'ReleaseFixedIp', ...c, floatingIpId: id }, meta);
    }
    for (const routerId of new Set(touched.routers)) {
      const subnetId = held?.routerId === routerId ? await this.subnetOf(held.portId, held.fixedIpAddress) : null;
      if (held && subnetId !== null) {
        const attach = {
          type: 'AttachFloatingIp',
          id: routerId,
          floatingIpId: id,
          floatingNetworkId: fip.floatingNetworkId,
          portId: held.portId,
          fixedIpAddress: held.fixedIpAddress,
          subnetId,
        } as const;
        await this.model.routers.execute(routerId, attach, meta);
      } else if (held?.routerId !== routerId) {
        await this.model.routers.execute(routerId, { type: 'DetachFloatingIp', id: routerId, floatingIpId: id }, meta);
      }
    }
  }

  /**
   * Settles a floating IP a router records if what kept it there is gone: the port it holds
   * (or, once disassociated, the port of the claim it still has) was deleted. A floating IP
   * with a claim on a port that exists may be in the middle of an association (claim, then
   * router, then itself): that one is left alone.
   */
  async letGoIfPortGone(id: string, routerId: string, meta: CommandMetadata): Promise<void> {
    const fip = (await this.model.floatingIps.load(id)).state;
    const registry = (await this.model.registry.load(L3_REGISTRY_ID)).state;
    const claimed = [...registry.claims].filter(([, holder]) => holder === id).map(([key]) => key.slice(0, key.indexOf('|')));
    const ports = fip.exists && fip.portId !== null ? [fip.portId] : claimed;
    for (const portId of ports) if (await this.portKnown(portId)) return;
    await this.settle(id, { claims: [], routers: [routerId] }, meta);
  }

  private async settleQuietly(id: string, touched: Touched, meta: CommandMetadata): Promise<void> {
    if (touched.claims.length === 0 && touched.routers.length === 0) return;
    await this.settle(id, touched, meta).catch((err: unknown) =>
      this.logger.error({ err, floatingIpId: id, touched }, 'could not settle a floating IP; the orphan sweeper will'),
    );
  }

  private async portKnown(portId: string): Promise<boolean> {
    return (await this.prisma.ipamPort.count({ where: { id: portId } })) > 0;
  }

  /** The subnet of a port's fixed address, from L3's copy of IPAM; null once the port is gone. */
  private async subnetOf(portId: string, ip: string): Promise<string | null> {
    const port = await this.prisma.ipamPort.findUnique({ where: { id: portId }, select: { fixedIps: true } });
    return (port?.fixedIps as { subnetId: string; ipAddress: string }[] | undefined)?.find((f) => f.ipAddress === ip)?.subnetId ?? null;
  }

  /**
   * A router connecting the subnet to the floating IP's network (Neutron matches the router's
   * interface on that very subnet: another network may reuse the same CIDR behind another router).
   */
  private async routerFor(subnetId: string, externalNetworkId: string): Promise<string | null> {
    const interfaces = await this.prisma.routerInterface.findMany({
      where: { router: { gatewayNetworkId: externalNetworkId } },
      select: { routerId: true, fixedIps: true },
      orderBy: { routerId: 'asc' },
    });
    return interfaces.find((i) => (i.fixedIps as { subnetId: string }[]).some((f) => f.subnetId === subnetId))?.routerId ?? null;
  }

  private async deletePortQuietly(portId: string, meta: CommandMetadata): Promise<void> {
    await this.ipam
      .deletePort(portId, asService(meta))
      .catch((err: unknown) => this.logger.error({ err, portId }, 'could not delete a floating IP port; the orphan sweeper will'));
  }
}

/** The claim and router a floating IP held before a change, to be settled after it. */
function previous(fip: FloatingIpState): Touched {
  return {
    claims: fip.portId !== null && fip.fixedIpAddress !== null ? [{ portId: fip.portId, fixedIpAddress: fip.fixedIpAddress }] : [],
    routers: fip.routerId !== null ? [fip.routerId] : [],
  };
}
