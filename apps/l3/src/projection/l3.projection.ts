import { type L3Event, type Naming, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { WholeStreamProjection } from '@ncp/eventstore';
import { FactMirror } from '@ncp/fact-mirror';
import { type Prisma } from '../generated/prisma/client';
import { isL3Actor } from '../application/write-model';
import { type L3Tx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/** L3's columns of IPAM's networks, subnets and ports and of the agents. */
const mirror = new FactMirror<L3Tx>((tx) => tx.factMirror, {
  network: { rows: (tx) => tx.ipamNetwork, columns: ['projectId', 'external', 'shared', 'networkType', 'physicalNetwork'] },
  subnet: { rows: (tx) => tx.ipamSubnet, columns: ['networkId', 'projectId', 'ipVersion', 'cidr', 'gatewayIp', 'addressScopeId'] },
  port: {
    rows: (tx) => tx.ipamPort,
    columns: ['networkId', 'projectId', 'macAddress', 'deviceOwner', 'deviceId', 'bindingHostId', 'fixedIps'],
    derived: (p) => ({ createdByL3: isL3Actor(p.createdBy) }),
  },
  agent: { rows: (tx) => tx.agent, columns: ['id', 'row', 'roles', 'tunnelIp', 'physnets'] },
});

/** Its own tables and its mirror's, emptied for a rebuild. */
const TABLES = ['router_floating_ips', 'router_interfaces', 'routers', 'floating_ips', 'ipam_networks', 'ipam_subnets', 'ipam_ports', 'agents', 'fact_mirror'];

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): L3's own
 * routers and floating IPs, and its copy of the IPAM and agent facts it reads.
 */
export class L3Projection extends WholeStreamProjection<L3Tx> {
  constructor(naming: Naming) {
    super('l3', naming, { l3: '*', ipam: ['network'], agent: ['agent'] }, TABLES);
  }

  async apply(tx: L3Tx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const at = new Date(e.occurredAt);
    if (e.aggregate === 'network') {
      await this.portsGone(tx, { type: e.type, data: e.data } as NetworkEvent);
      return mirror.apply(tx, recorded);
    }
    if (e.aggregate === 'agent') return mirror.apply(tx, recorded);
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
        await tx.routerInterface.create({
          data: { portId: event.data.portId, routerId: id, networkId: event.data.networkId, fixedIps: json(event.data.fixedIps) },
        });
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
        await tx.routerFloatingIp.upsert({
          where: { floatingIpId: event.data.floatingIpId },
          create: { floatingIpId: event.data.floatingIpId, ...data },
          update: data,
        });
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

  /**
   * A floating IP on a deleted port is shown disassociated (and leaves the router's NAT) as
   * soon as the deletion is known here, before the reaction that disassociates it in its
   * aggregate (DisassociateFloatingIpsWhenPortDeleted) has written FloatingIpDisassociated:
   * the port's fixed address may be someone else's next moment.
   */
  private async portsGone(tx: L3Tx, event: NetworkEvent): Promise<void> {
    const portIds = event.type === 'NetworkDeleted' ? event.data.portIds : event.type === 'PortDeleted' ? [event.data.portId] : [];
    if (portIds.length === 0) return;
    await tx.floatingIp.updateMany({ where: { portId: { in: [...portIds] } }, data: { portId: null, fixedIpAddress: null, routerId: null, status: 'DOWN' } });
  }
}
