import { type AgentEvent, type DhcpEvent, type Naming, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { acceptsContexts, type Projection } from '@ncp/eventstore';
import { type Prisma } from '../generated/prisma/client';
import { type DhcpTx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): DHCP's own
 * server placements, and its copy of the IPAM and agent facts its intents are made of.
 */
export class DhcpProjection implements Projection<DhcpTx> {
  readonly name = 'dhcp';
  readonly filter: string;
  readonly accepts: (subject: string) => boolean;

  constructor(naming: Naming) {
    this.filter = naming.allEvents;
    this.accepts = acceptsContexts(naming, { dhcp: '*', ipam: ['network'], agent: ['agent'] });
  }

  async reset(tx: DhcpTx): Promise<void> {
    await tx.$executeRaw`TRUNCATE dhcp_servers, ipam_networks, ipam_subnets, ipam_ports, agents`;
  }

  async apply(tx: DhcpTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    if (e.aggregate === 'network') return this.mirrorNetwork(tx, e.aggregateId, { type: e.type, data: e.data } as NetworkEvent);
    if (e.aggregate === 'agent') return this.mirrorAgent(tx, e.aggregateId, { type: e.type, data: e.data } as AgentEvent);
    return this.applyDhcp(tx, e.aggregateId, new Date(e.occurredAt), { type: e.type, data: e.data } as DhcpEvent);
  }

  private async applyDhcp(tx: DhcpTx, networkId: string, at: Date, event: DhcpEvent): Promise<void> {
    switch (event.type) {
      case 'DhcpServerScheduled': {
        const data = { host: event.data.host, row: event.data.row, pinned: event.data.pinned, status: 'BUILD', reason: 'scheduled', updatedAt: at };
        await tx.dhcpServer.upsert({ where: { networkId }, create: { networkId, ...data }, update: data });
        return;
      }
      case 'DhcpPortAssigned':
        await tx.dhcpServer.update({ where: { networkId }, data: { portId: event.data.portId, updatedAt: at } });
        return;
      case 'DhcpPortReleased':
        await tx.dhcpServer.update({ where: { networkId }, data: { portId: null, updatedAt: at } });
        return;
      case 'DhcpServerUnscheduled':
        await tx.dhcpServer.deleteMany({ where: { networkId } });
        return;
      case 'DhcpServerStatusChanged':
        await tx.dhcpServer.update({ where: { networkId }, data: { status: event.data.status, reason: event.data.reason, updatedAt: at } });
        return;
    }
  }

  private async mirrorNetwork(tx: DhcpTx, networkId: string, event: NetworkEvent): Promise<void> {
    switch (event.type) {
      case 'NetworkCreated': {
        const d = event.data;
        const data = { projectId: d.projectId, name: d.name, mtu: d.mtu, networkType: d.segment.networkType, physicalNetwork: d.segment.physicalNetwork };
        await tx.ipamNetwork.upsert({ where: { id: networkId }, create: { id: networkId, ...data }, update: data });
        return;
      }
      case 'NetworkUpdated': {
        const c = event.data.changes;
        const data = { ...(c.name !== undefined ? { name: c.name } : {}), ...(c.mtu !== undefined ? { mtu: c.mtu } : {}) };
        if (Object.keys(data).length > 0) await tx.ipamNetwork.update({ where: { id: networkId }, data });
        return;
      }
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
          ipv6RaMode: d.ipv6RaMode,
          ipv6AddressMode: d.ipv6AddressMode,
          dnsNameservers: d.dnsNameservers,
          hostRoutes: json(d.hostRoutes),
        };
        await tx.ipamSubnet.upsert({ where: { id: d.subnetId }, create: { id: d.subnetId, ...data }, update: data });
        for (const a of d.autoAddresses) {
          const port = await tx.ipamPort.findUnique({ where: { id: a.portId }, select: { fixedIps: true } });
          if (port) {
            await tx.ipamPort.update({ where: { id: a.portId }, data: { fixedIps: json([...(port.fixedIps as unknown[]), { subnetId: d.subnetId, ipAddress: a.ipAddress }]) } });
          }
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
        const data = {
          networkId,
          macAddress: d.macAddress,
          adminStateUp: d.adminStateUp,
          deviceOwner: d.deviceOwner,
          deviceId: d.deviceId,
          bindingHostId: d.bindingHostId,
          bindingProfile: json(d.bindingProfile),
          fixedIps: json(d.fixedIps),
          extraDhcpOpts: json(d.extraDhcpOpts),
        };
        await tx.ipamPort.upsert({ where: { id: d.portId }, create: { id: d.portId, ...data }, update: data });
        return;
      }
      case 'PortUpdated': {
        const c = event.data.changes;
        const data = {
          ...(c.macAddress !== undefined ? { macAddress: c.macAddress } : {}),
          ...(c.adminStateUp !== undefined ? { adminStateUp: c.adminStateUp } : {}),
          ...(c.deviceOwner !== undefined ? { deviceOwner: c.deviceOwner } : {}),
          ...(c.deviceId !== undefined ? { deviceId: c.deviceId } : {}),
          ...(c.bindingHostId !== undefined ? { bindingHostId: c.bindingHostId } : {}),
          ...(c.bindingProfile !== undefined ? { bindingProfile: json(c.bindingProfile) } : {}),
          ...(c.fixedIps !== undefined ? { fixedIps: json(c.fixedIps) } : {}),
          ...(c.extraDhcpOpts !== undefined ? { extraDhcpOpts: json(c.extraDhcpOpts) } : {}),
        };
        if (Object.keys(data).length > 0) await tx.ipamPort.updateMany({ where: { id: event.data.portId }, data });
        return;
      }
      case 'PortDeleted':
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

  private async mirrorAgent(tx: DhcpTx, agentId: string, event: AgentEvent): Promise<void> {
    if (event.type !== 'AgentRegistered') return;
    const d = event.data;
    const data = { row: d.row, host: d.host, roles: d.roles, physnets: json(d.physnets) };
    await tx.agent.deleteMany({ where: { host: d.host, NOT: { id: agentId } } });
    await tx.agent.upsert({ where: { id: agentId }, create: { id: agentId, ...data }, update: data });
  }
}
