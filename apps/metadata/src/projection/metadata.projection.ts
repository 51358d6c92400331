import { type DhcpEvent, type L3Event, type MetaEvent, type Naming, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { acceptsContexts, type Projection } from '@ncp/eventstore';
import { type Prisma } from '../generated/prisma/client';
import { type MetadataTx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): the
 * instances, and the metadata service's copy of the IPAM, L3 and DHCP facts that say what an
 * instance's network looks like and where its metadata is answered.
 */
export class MetadataProjection implements Projection<MetadataTx> {
  readonly name = 'metadata';
  readonly filter: string;
  readonly accepts: (subject: string) => boolean;

  constructor(naming: Naming) {
    this.filter = naming.allEvents;
    this.accepts = acceptsContexts(naming, { meta: '*', ipam: ['network'], l3: ['router', 'floatingip'], dhcp: ['server'] });
  }

  async reset(tx: MetadataTx): Promise<void> {
    await tx.$executeRaw`TRUNCATE instances, ipam_networks, ipam_subnets, ipam_ports, routers, router_interfaces, floating_ips, dhcp_servers`;
  }

  async apply(tx: MetadataTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const at = new Date(e.occurredAt);
    const event = { type: e.type, data: e.data };
    switch (e.aggregate) {
      case 'network':
        return this.mirrorNetwork(tx, e.aggregateId, at, event as NetworkEvent);
      case 'router':
      case 'floatingip':
        return this.mirrorL3(tx, e.aggregateId, event as L3Event);
      case 'server':
        return this.mirrorDhcp(tx, e.aggregateId, event as DhcpEvent);
      default:
        return this.applyInstance(tx, e.aggregateId, at, event as MetaEvent);
    }
  }

  private async applyInstance(tx: MetadataTx, id: string, at: Date, event: MetaEvent): Promise<void> {
    switch (event.type) {
      case 'InstanceRegistered': {
        const d = event.data;
        await tx.instance.create({
          data: { id, ...d, publicKeys: json(d.publicKeys), metadata: json(d.metadata), vendorData: json(d.vendorData), revisionNumber: 1, createdAt: at, updatedAt: at },
        });
        return;
      }
      case 'InstanceUpdated': {
        const { publicKeys: _k, metadata: _m, vendorData: _v, ...c } = event.data.changes;
        const changes = event.data.changes;
        await tx.instance.update({
          where: { id },
          data: {
            ...c,
            ...(changes.publicKeys !== undefined ? { publicKeys: json(changes.publicKeys) } : {}),
            ...(changes.metadata !== undefined ? { metadata: json(changes.metadata) } : {}),
            ...(changes.vendorData !== undefined ? { vendorData: json(changes.vendorData) } : {}),
            updatedAt: at,
            revisionNumber: { increment: 1 },
          },
        });
        return;
      }
      case 'InstanceDeleted':
        await tx.instance.deleteMany({ where: { id } });
        return;
    }
  }

  private async mirrorNetwork(tx: MetadataTx, networkId: string, at: Date, event: NetworkEvent): Promise<void> {
    switch (event.type) {
      case 'NetworkCreated':
        await tx.ipamNetwork.upsert({ where: { id: networkId }, create: { id: networkId, mtu: event.data.mtu }, update: { mtu: event.data.mtu } });
        return;
      case 'NetworkUpdated':
        if (event.data.changes.mtu !== undefined) await tx.ipamNetwork.update({ where: { id: networkId }, data: { mtu: event.data.changes.mtu } });
        return;
      case 'NetworkDeleted':
        await tx.ipamPort.deleteMany({ where: { networkId } });
        await tx.ipamSubnet.deleteMany({ where: { networkId } });
        await tx.ipamNetwork.deleteMany({ where: { id: networkId } });
        return;
      case 'SubnetCreated': {
        const d = event.data;
        const data = {
          networkId,
          ipVersion: d.ipVersion,
          cidr: d.cidr,
          gatewayIp: d.gatewayIp,
          enableDhcp: d.enableDhcp,
          ipv6AddressMode: d.ipv6AddressMode,
          dnsNameservers: d.dnsNameservers,
          hostRoutes: json(d.hostRoutes),
        };
        await tx.ipamSubnet.upsert({ where: { id: d.subnetId }, create: { id: d.subnetId, ...data }, update: data });
        for (const a of d.autoAddresses) {
          const port = await tx.ipamPort.findUnique({ where: { id: a.portId }, select: { fixedIps: true } });
          if (port) await tx.ipamPort.update({ where: { id: a.portId }, data: { fixedIps: json([...(port.fixedIps as unknown[]), { subnetId: d.subnetId, ipAddress: a.ipAddress }]) } });
        }
        return;
      }
      case 'SubnetUpdated': {
        const c = event.data.changes;
        const data = {
          ...(c.gatewayIp !== undefined ? { gatewayIp: c.gatewayIp } : {}),
          ...(c.enableDhcp !== undefined ? { enableDhcp: c.enableDhcp } : {}),
          ...(c.dnsNameservers !== undefined ? { dnsNameservers: c.dnsNameservers } : {}),
          ...(c.hostRoutes !== undefined ? { hostRoutes: json(c.hostRoutes) } : {}),
        };
        if (Object.keys(data).length > 0) await tx.ipamSubnet.update({ where: { id: event.data.subnetId }, data });
        return;
      }
      case 'SubnetDeleted':
        await tx.ipamSubnet.deleteMany({ where: { id: event.data.subnetId } });
        return;
      case 'PortCreated': {
        const d = event.data;
        const data = { networkId, projectId: d.projectId, macAddress: d.macAddress, deviceOwner: d.deviceOwner, deviceId: d.deviceId, fixedIps: json(d.fixedIps) };
        await tx.ipamPort.upsert({ where: { id: d.portId }, create: { id: d.portId, ...data, createdAt: at }, update: data });
        return;
      }
      case 'PortUpdated': {
        const c = event.data.changes;
        const data = {
          ...(c.macAddress !== undefined ? { macAddress: c.macAddress } : {}),
          ...(c.deviceOwner !== undefined ? { deviceOwner: c.deviceOwner } : {}),
          ...(c.deviceId !== undefined ? { deviceId: c.deviceId } : {}),
          ...(c.fixedIps !== undefined ? { fixedIps: json(c.fixedIps) } : {}),
        };
        if (Object.keys(data).length > 0) await tx.ipamPort.updateMany({ where: { id: event.data.portId }, data });
        return;
      }
      case 'PortDeleted':
        await tx.ipamPort.deleteMany({ where: { id: event.data.portId } });
        return;
      default:
        return;
    }
  }

  private async mirrorL3(tx: MetadataTx, id: string, event: L3Event): Promise<void> {
    switch (event.type) {
      case 'RouterCreated':
        await tx.router.upsert({ where: { id }, create: { id }, update: {} });
        return;
      case 'RouterScheduled':
        await tx.router.update({ where: { id }, data: { host: event.data.host, row: event.data.row } });
        return;
      case 'RouterInterfaceAdded':
        await tx.routerInterface.upsert({
          where: { portId: event.data.portId },
          create: { portId: event.data.portId, routerId: id, networkId: event.data.networkId },
          update: { routerId: id, networkId: event.data.networkId },
        });
        return;
      case 'RouterInterfaceRemoved':
        await tx.routerInterface.deleteMany({ where: { portId: event.data.portId } });
        return;
      case 'RouterDeleted':
        await tx.routerInterface.deleteMany({ where: { routerId: id } });
        await tx.router.deleteMany({ where: { id } });
        return;
      case 'FloatingIpCreated':
        await tx.floatingIp.upsert({ where: { id }, create: { id, floatingIpAddress: event.data.floatingIpAddress }, update: {} });
        return;
      case 'FloatingIpAssociated':
        await tx.floatingIp.update({ where: { id }, data: { portId: event.data.portId, fixedIpAddress: event.data.fixedIpAddress } });
        return;
      case 'FloatingIpDisassociated':
        await tx.floatingIp.update({ where: { id }, data: { portId: null, fixedIpAddress: null } });
        return;
      case 'FloatingIpDeleted':
        await tx.floatingIp.deleteMany({ where: { id } });
        return;
      default:
        return;
    }
  }

  private async mirrorDhcp(tx: MetadataTx, networkId: string, event: DhcpEvent): Promise<void> {
    switch (event.type) {
      case 'DhcpServerScheduled': {
        const data = { host: event.data.host, row: event.data.row };
        await tx.dhcpServer.upsert({ where: { networkId }, create: { networkId, ...data }, update: data });
        return;
      }
      case 'DhcpPortAssigned':
        await tx.dhcpServer.update({ where: { networkId }, data: { portId: event.data.portId } });
        return;
      case 'DhcpServerUnscheduled':
        await tx.dhcpServer.deleteMany({ where: { networkId } });
        return;
      case 'DhcpServerStatusChanged':
        return;
    }
  }
}
