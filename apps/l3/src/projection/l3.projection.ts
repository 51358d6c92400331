import { type AgentEvent, type L3Event, type Naming, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { acceptsContexts, type Projection } from '@ncp/eventstore';
import { type Prisma } from '../generated/prisma/client';
import { isL3Actor } from '../application/write-model';
import { type L3Tx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): L3's own
 * routers and floating IPs, and its copy of the IPAM and agent facts it reads.
 */
export class L3Projection implements Projection<L3Tx> {
  readonly name = 'l3';
  readonly filter: string;
  readonly accepts: (subject: string) => boolean;

  constructor(naming: Naming) {
    this.filter = naming.allEvents;
    this.accepts = acceptsContexts(naming, { l3: '*', ipam: ['network'], agent: ['agent'] });
  }

  async reset(tx: L3Tx): Promise<void> {
    await tx.$executeRaw`TRUNCATE router_floating_ips, router_interfaces, routers, floating_ips, ipam_networks, ipam_subnets, ipam_ports, agents`;
  }

  async apply(tx: L3Tx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const at = new Date(e.occurredAt);
    if (e.aggregate === 'network') return this.mirrorNetwork(tx, e.aggregateId, { type: e.type, data: e.data } as NetworkEvent, isL3Actor(e.actor));
    if (e.aggregate === 'agent') return this.mirrorAgent(tx, e.aggregateId, { type: e.type, data: e.data } as AgentEvent);
    return this.applyL3(tx, e.aggregateId, at, { type: e.type, data: e.data } as L3Event);
  }

  private async applyL3(tx: L3Tx, id: string, at: Date, event: L3Event): Promise<void> {
    const touched = { updatedAt: at, revisionNumber: { increment: 1 } };
    switch (event.type) {
      case 'RouterCreated': {
        const { gateway, routes, ...attributes } = event.data;
        await tx.router.create({
          data: {
            id,
            ...attributes,
            status: 'BUILD',
            gatewayNetworkId: gateway?.networkId ?? null,
            gatewayPortId: gateway?.portId ?? null,
            enableSnat: gateway?.enableSnat ?? true,
            gatewayFixedIps: json(gateway?.fixedIps ?? []),
            routes: json(routes ?? []),
            revisionNumber: 1,
            createdAt: at,
            updatedAt: at,
          },
        });
        return;
      }
      case 'RouterUpdated':
        await tx.router.update({ where: { id }, data: { ...event.data.changes, ...touched } });
        return;
      case 'RouterGatewaySet':
        await tx.router.update({
          where: { id },
          data: {
            gatewayNetworkId: event.data.networkId,
            gatewayPortId: event.data.portId,
            enableSnat: event.data.enableSnat,
            gatewayFixedIps: json(event.data.fixedIps),
            ...touched,
          },
        });
        return;
      case 'RouterGatewayCleared':
        await tx.router.update({ where: { id }, data: { gatewayNetworkId: null, gatewayPortId: null, enableSnat: true, gatewayFixedIps: [], ...touched } });
        return;
      case 'RouterInterfaceAdded':
        await tx.routerInterface.create({ data: { portId: event.data.portId, routerId: id, networkId: event.data.networkId, fixedIps: json(event.data.fixedIps) } });
        await tx.router.update({ where: { id }, data: touched });
        return;
      case 'RouterInterfaceRemoved':
        await tx.routerInterface.deleteMany({ where: { portId: event.data.portId } });
        await tx.router.update({ where: { id }, data: touched });
        return;
      case 'RouterRoutesSet':
        await tx.router.update({ where: { id }, data: { routes: json(event.data.routes), ...touched } });
        return;
      case 'RouterScheduled':
        await tx.router.update({ where: { id }, data: { host: event.data.host, row: event.data.row } });
        return;
      case 'RouterStatusChanged':
        await tx.router.update({ where: { id }, data: { status: event.data.status } });
        return;
      case 'RouterDeleted':
        await tx.router.delete({ where: { id } });
        return;
      case 'RouterFloatingIpAttached': {
        const data = { routerId: id, fixedIpAddress: event.data.fixedIpAddress, subnetId: event.data.subnetId };
        await tx.routerFloatingIp.upsert({ where: { floatingIpId: event.data.floatingIpId }, create: { floatingIpId: event.data.floatingIpId, ...data }, update: data });
        return;
      }
      case 'RouterFloatingIpDetached':
        await tx.routerFloatingIp.deleteMany({ where: { floatingIpId: event.data.floatingIpId, routerId: id } });
        return;
      case 'FloatingIpCreated':
        await tx.floatingIp.create({ data: { id, ...event.data, status: 'DOWN', revisionNumber: 1, createdAt: at, updatedAt: at } });
        return;
      case 'FloatingIpAssociated':
        await tx.floatingIp.update({ where: { id }, data: { ...event.data, ...touched } });
        return;
      case 'FloatingIpDisassociated':
        await tx.floatingIp.update({ where: { id }, data: { portId: null, fixedIpAddress: null, routerId: null, status: 'DOWN', ...touched } });
        return;
      case 'FloatingIpUpdated':
        await tx.floatingIp.update({ where: { id }, data: { ...event.data.changes, ...touched } });
        return;
      case 'FloatingIpStatusChanged':
        await tx.floatingIp.update({ where: { id }, data: { status: event.data.status } });
        return;
      case 'FloatingIpDeleted':
        await tx.floatingIp.delete({ where: { id } });
        return;
      case 'FixedIpFloatingIpClaimed':
      case 'FixedIpFloatingIpReleased':
        return;
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }

  private async mirrorNetwork(tx: L3Tx, networkId: string, event: NetworkEvent, byL3: boolean): Promise<void> {
    switch (event.type) {
      case 'NetworkCreated': {
        const d = event.data;
        const data = { projectId: d.projectId, external: d.external, shared: d.shared, networkType: d.segment.networkType, physicalNetwork: d.segment.physicalNetwork };
        await tx.ipamNetwork.upsert({ where: { id: networkId }, create: { id: networkId, ...data }, update: data });
        return;
      }
      case 'NetworkUpdated': {
        const c = event.data.changes;
        if (c.external !== undefined || c.shared !== undefined) {
          await tx.ipamNetwork.update({ where: { id: networkId }, data: { ...(c.external !== undefined ? { external: c.external } : {}), ...(c.shared !== undefined ? { shared: c.shared } : {}) } });
        }
        return;
      }
      case 'NetworkDeleted':
        await this.portsGone(tx, event.data.portIds);
        await tx.ipamPort.deleteMany({ where: { networkId } });
        await tx.ipamSubnet.deleteMany({ where: { networkId } });
        await tx.ipamNetwork.deleteMany({ where: { id: networkId } });
        return;
      case 'SubnetCreated': {
        const d = event.data;
        const data = { networkId, projectId: d.projectId, ipVersion: d.ipVersion, cidr: d.cidr, gatewayIp: d.gatewayIp, addressScopeId: d.addressScopeId };
        await tx.ipamSubnet.upsert({ where: { id: d.subnetId }, create: { id: d.subnetId, ...data }, update: data });
        for (const a of d.autoAddresses) await this.addFixedIp(tx, a.portId, { subnetId: d.subnetId, ipAddress: a.ipAddress });
        return;
      }
      case 'SubnetUpdated':
        if (event.data.changes.gatewayIp !== undefined) {
          await tx.ipamSubnet.update({ where: { id: event.data.subnetId }, data: { gatewayIp: event.data.changes.gatewayIp } });
        }
        return;
      case 'SubnetDeleted':
        await tx.ipamSubnet.deleteMany({ where: { id: event.data.subnetId } });
        return;
      case 'PortCreated': {
        const d = event.data;
        const data = {
          networkId,
          projectId: d.projectId,
          macAddress: d.macAddress,
          deviceOwner: d.deviceOwner,
          deviceId: d.deviceId,
          bindingHostId: d.bindingHostId,
          fixedIps: json(d.fixedIps),
          createdByL3: byL3,
        };
        await tx.ipamPort.upsert({ where: { id: d.portId }, create: { id: d.portId, ...data }, update: data });
        return;
      }
      case 'PortUpdated': {
        const c = event.data.changes;
        const data = {
          ...(c.macAddress !== undefined ? { macAddress: c.macAddress } : {}),
          ...(c.deviceOwner !== undefined ? { deviceOwner: c.deviceOwner } : {}),
          ...(c.deviceId !== undefined ? { deviceId: c.deviceId } : {}),
          ...(c.bindingHostId !== undefined ? { bindingHostId: c.bindingHostId } : {}),
          ...(c.fixedIps !== undefined ? { fixedIps: json(c.fixedIps) } : {}),
        };
        if (Object.keys(data).length > 0) await tx.ipamPort.updateMany({ where: { id: event.data.portId }, data });
        return;
      }
      case 'PortDeleted':
        await this.portsGone(tx, [event.data.portId]);
        await tx.ipamPort.deleteMany({ where: { id: event.data.portId } });
        return;
      case 'PortStatusChanged':
        return;
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }

  /**
   * A floating IP on a deleted port is shown disassociated (and leaves the router's NAT) as
   * soon as the deletion is known here, before the reaction that disassociates it in its
   * aggregate (DisassociateFloatingIpsWhenPortDeleted) has written FloatingIpDisassociated:
   * the port's fixed address may be someone else's next moment.
   */
  private async portsGone(tx: L3Tx, portIds: readonly string[]): Promise<void> {
    if (portIds.length === 0) return;
    await tx.floatingIp.updateMany({ where: { portId: { in: [...portIds] } }, data: { portId: null, fixedIpAddress: null, routerId: null, status: 'DOWN' } });
  }

  private async addFixedIp(tx: L3Tx, portId: string, fixedIp: { subnetId: string; ipAddress: string }): Promise<void> {
    const port = await tx.ipamPort.findUnique({ where: { id: portId }, select: { fixedIps: true } });
    if (!port) return;
    await tx.ipamPort.update({ where: { id: portId }, data: { fixedIps: json([...(port.fixedIps as unknown[]), fixedIp]) } });
  }

  private async mirrorAgent(tx: L3Tx, agentId: string, event: AgentEvent): Promise<void> {
    if (event.type !== 'AgentRegistered') return;
    const d = event.data;
    const data = { row: d.row, host: d.host, roles: d.roles, tunnelIp: d.tunnelIp, physnets: json(d.physnets) };
    await tx.agent.deleteMany({ where: { host: d.host, NOT: { id: agentId } } });
    await tx.agent.upsert({ where: { id: agentId }, create: { id: agentId, ...data }, update: data });
  }
}
