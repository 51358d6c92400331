import { type DhcpEvent, type MetaEvent, type Naming, type RecordedEvent } from '@ncp/contracts';
import { WholeStreamProjection } from '@ncp/eventstore';
import { FactMirror, isMirrored } from '@ncp/fact-mirror';
import { type Prisma } from '../generated/prisma/client';
import { type MetadataTx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/** The metadata service's columns of IPAM's networks, subnets and ports and of L3's routers and floating IPs. */
const mirror = new FactMirror<MetadataTx>((tx) => tx.factMirror, {
  network: { rows: (tx) => tx.ipamNetwork, columns: ['mtu'] },
  subnet: {
    rows: (tx) => tx.ipamSubnet,
    columns: ['networkId', 'ipVersion', 'cidr', 'gatewayIp', 'enableDhcp', 'ipv6AddressMode', 'dnsNameservers', 'hostRoutes'],
  },
  port: {
    rows: (tx) => tx.ipamPort,
    columns: ['networkId', 'projectId', 'macAddress', 'deviceOwner', 'deviceId', 'fixedIps'],
    derived: (p) => ({ createdAt: new Date(p.createdAt) }),
  },
  router: { rows: (tx) => tx.router, columns: ['host', 'row'] },
  routerInterface: { rows: (tx) => tx.routerInterface, columns: ['routerId', 'networkId'] },
  floatingIp: { rows: (tx) => tx.floatingIp, columns: ['floatingIpAddress', 'portId', 'fixedIpAddress'] },
});

/** Its own tables and its mirror's, emptied for a rebuild. */
const TABLES = ['instances', 'ipam_networks', 'ipam_subnets', 'ipam_ports', 'routers', 'router_interfaces', 'floating_ips', 'dhcp_servers', 'fact_mirror'];

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): the
 * instances, and the metadata service's copy of the IPAM, L3 and DHCP facts that say what an
 * instance's network looks like and where its metadata is answered.
 */
export class MetadataProjection extends WholeStreamProjection<MetadataTx> {
  constructor(naming: Naming) {
    super('metadata', naming, { meta: '*', ipam: ['network'], l3: ['router', 'floatingip'], dhcp: ['server'] }, TABLES);
  }

  async apply(tx: MetadataTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const at = new Date(e.occurredAt);
    const event = { type: e.type, data: e.data };
    if (isMirrored(e.aggregate)) return mirror.apply(tx, recorded);
    if (e.aggregate === 'server') return this.mirrorDhcp(tx, e.aggregateId, event as DhcpEvent);
    return this.applyInstance(tx, e.aggregateId, at, event as MetaEvent);
  }

  private async applyInstance(tx: MetadataTx, id: string, at: Date, event: MetaEvent): Promise<void> {
    switch (event.type) {
      case 'InstanceRegistered': {
        const d = event.data;
        await tx.instance.create({
          data: {
            id,
            ...d,
            publicKeys: json(d.publicKeys),
            metadata: json(d.metadata),
            vendorData: json(d.vendorData),
            revisionNumber: 1,
            createdAt: at,
            updatedAt: at,
          },
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
