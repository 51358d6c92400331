import { randomUUID } from 'node:crypto';
import { type CommandMetadata } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { parseIp } from '@ncp/netaddr';
import { badRequest, notFound } from '../domain/rules';
import { type IpamClient } from '@ncp/eventstore';
import { type L3Prisma } from '../infrastructure/prisma';
import { ipInCidr, type IpamFacts } from './facts';
import { asService, type L3WriteModel, type Written } from './write-model';

export interface CreateFloatingIpInput {
  readonly projectId: string;
  readonly floatingNetworkId: string;
  readonly floatingIpAddress?: string;
  readonly subnetId?: string;
  readonly portId?: string;
  readonly fixedIpAddress?: string;
  readonly description: string;
}

/**
 * Floating IPs. The address is an IPAM port (device_owner network:floatingip) on the
 * external network; association is a saga over the L3 registry (one floating IP per fixed
 * address) and the floating IP itself.
 */
export class FloatingIpCommands {
  constructor(
    private readonly model: L3WriteModel,
    private readonly facts: IpamFacts,
    private readonly ipam: IpamClient,
    private readonly prisma: L3Prisma,
    private readonly catchUp: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async create(input: CreateFloatingIpInput, meta: CommandMetadata): Promise<Written> {
    await this.catchUp();
    const network = await this.facts.externalNetwork(input.floatingNetworkId).catch((e: unknown) => {
      if (e instanceof Error && /not a valid external network/.test(e.message)) {
        throw badRequest(`Bad floatingip request: Network ${input.floatingNetworkId} is not a valid external network.`);
      }
      throw e;
    });
    const id = randomUUID();
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
    try {
      if (!address) throw badRequest('Bad floatingip request: a floating IP needs an IPv4 address.');
      let r = await this.model.floatingIps.execute(
        id,
        {
          type: 'CreateFloatingIp',
          id,
          projectId: input.projectId,
          description: input.description,
          floatingNetworkId: network.id,
          floatingPortId: port.id,
          subnetId: address.subnet_id,
          floatingIpAddress: address.ip_address,
        },
        meta,
      );
      if (input.portId !== undefined) r = { ...r, sequence: (await this.associate(id, input.portId, input.fixedIpAddress, undefined, meta)).sequence };
      return { id, sequence: r.sequence };
    } catch (e) {
      await this.model.floatingIps.execute(id, { type: 'DeleteFloatingIp', id }, asService(meta)).catch(() => undefined);
      await this.ipam.deletePort(port.id, asService(meta)).catch((err: unknown) => this.logger.error({ err }, 'could not delete a floating IP port'));
      throw e;
    }
  }

  async associate(id: string, portId: string, fixedIp: string | undefined, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    await this.catchUp();
    const fip = (await this.model.floatingIps.load(id)).state;
    if (!fip.exists) throw notFound('FloatingIPNotFound', `Floating IP ${id} could not be found`);
    const port = await this.facts.port(portId);
    if (!meta.isAdmin && port.projectId !== meta.projectId) throw notFound('PortNotFound', `Port ${portId} could not be found.`);
    const v4 = port.fixedIps.filter((f) => parseIp(f.ipAddress).version === 4);
    const chosen = fixedIp !== undefined ? v4.find((f) => f.ipAddress === fixedIp) : v4[0];
    if (fixedIp !== undefined && !chosen) throw badRequest(`Bad floatingip request: Port ${portId} does not have fixed ip ${fixedIp}.`);
    if (fixedIp === undefined && v4.length > 1) {
      throw badRequest(`Bad floatingip request: Port ${portId} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP.`);
    }
    if (!chosen) throw badRequest(`Bad floatingip request: Cannot add floating IP to port ${portId} that has no fixed IPv4 addresses.`);
    const routerId = await this.routerFor(chosen.subnetId, fip.floatingNetworkId);
    if (routerId === null) {
      throw notFound(
        'ExternalGatewayForFloatingIPNotFound',
        `External network ${fip.floatingNetworkId} is not reachable from subnet ${chosen.subnetId}.  Therefore, cannot associate Port ${portId} with a Floating IP.`,
      );
    }
    const ipAddress = chosen.ipAddress;
    await this.model.registryCommand({ type: 'ClaimFixedIp', portId, fixedIpAddress: ipAddress, floatingIpId: id, floatingIpAddress: '' }, meta);
    try {
      const r = await this.model.floatingIps.execute(id, { type: 'Associate', id, portId, fixedIpAddress: ipAddress, routerId, expectedRevision }, meta);
      if (fip.portId !== null && fip.fixedIpAddress !== null && (fip.portId !== portId || fip.fixedIpAddress !== ipAddress)) {
        await this.model.registryCommand({ type: 'ReleaseFixedIp', portId: fip.portId, fixedIpAddress: fip.fixedIpAddress, floatingIpId: id }, asService(meta));
      }
      return { id, sequence: r.sequence };
    } catch (e) {
      if (fip.portId !== portId || fip.fixedIpAddress !== ipAddress) {
        await this.model.registryCommand({ type: 'ReleaseFixedIp', portId, fixedIpAddress: ipAddress, floatingIpId: id }, asService(meta)).catch(() => undefined);
      }
      throw e;
    }
  }

  async disassociate(id: string, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const fip = (await this.model.floatingIps.load(id)).state;
    const r = await this.model.floatingIps.execute(id, { type: 'Disassociate', id, expectedRevision }, meta);
    if (r.event && fip.portId !== null && fip.fixedIpAddress !== null) {
      await this.model.registryCommand({ type: 'ReleaseFixedIp', portId: fip.portId, fixedIpAddress: fip.fixedIpAddress, floatingIpId: id }, asService(meta));
    }
    return { id, sequence: r.sequence };
  }

  async updateDescription(id: string, description: string, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const r = await this.model.floatingIps.execute(id, { type: 'UpdateDescription', id, description, expectedRevision }, meta);
    return { id, sequence: r.sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const fip = (await this.model.floatingIps.load(id)).state;
    if (fip.exists && fip.portId !== null) await this.disassociate(id, undefined, meta);
    const r = await this.model.floatingIps.execute(id, { type: 'DeleteFloatingIp', id }, meta);
    await this.ipam.deletePort(fip.floatingPortId, asService(meta)).catch((err: unknown) => this.logger.error({ err }, 'could not delete a floating IP port'));
    return { id, sequence: r.sequence };
  }

  /** The router that connects the subnet to the floating IP's network, if any. */
  private async routerFor(subnetId: string, externalNetworkId: string): Promise<string | null> {
    const subnet = await this.facts.subnet(subnetId);
    const interfaces = await this.prisma.routerInterface.findMany({
      where: { router: { gatewayNetworkId: externalNetworkId } },
      select: { routerId: true, fixedIps: true },
    });
    const found = interfaces.find((i) => (i.fixedIps as { subnetId: string; ipAddress: string }[]).some((f) => f.subnetId === subnet.id || ipInCidr(f.ipAddress, subnet.cidr)));
    return found?.routerId ?? null;
  }
}
