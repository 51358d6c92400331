import { type DhcpEvent, type MetaEvent, type Naming } from '@ncp/contracts';
import { WholeStreamProjection, byType, firstRevision, nextRevision, unchanged } from '@ncp/eventstore';
import { FactMirror } from '@ncp/fact-mirror';
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

/** The instances, their metadata as JSON. */
const instances = byType<MetadataTx, MetaEvent>({
  InstanceRegistered: (tx, { id, at, data }) =>
    tx.instance.create({
      data: {
        id,
        ...data,
        publicKeys: json(data.publicKeys),
        metadata: json(data.metadata),
        vendorData: json(data.vendorData),
        ...firstRevision(at),
      },
    }),
  InstanceUpdated: (tx, { id, at, data }) => {
    const { publicKeys, metadata, vendorData, ...c } = data.changes;
    return tx.instance.update({
      where: { id },
      data: {
        ...c,
        ...(publicKeys !== undefined ? { publicKeys: json(publicKeys) } : {}),
        ...(metadata !== undefined ? { metadata: json(metadata) } : {}),
        ...(vendorData !== undefined ? { vendorData: json(vendorData) } : {}),
        ...nextRevision(at),
      },
    });
  },
  InstanceDeleted: (tx, { id }) => tx.instance.deleteMany({ where: { id } }),
});

/** Where each network's DHCP server runs and with which port (a server is its network's). */
const dhcpServers = byType<MetadataTx, DhcpEvent>({
  DhcpServerScheduled: (tx, { id: networkId, data: { host, row } }) =>
    tx.dhcpServer.upsert({ where: { networkId }, create: { networkId, host, row }, update: { host, row } }),
  DhcpPortAssigned: (tx, { id: networkId, data }) => tx.dhcpServer.update({ where: { networkId }, data: { portId: data.portId } }),
  DhcpPortReleased: (tx, { id: networkId }) => tx.dhcpServer.update({ where: { networkId }, data: { portId: null } }),
  DhcpServerUnscheduled: (tx, { id: networkId }) => tx.dhcpServer.deleteMany({ where: { networkId } }),
  DhcpServerStatusChanged: unchanged,
});

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): the
 * instances, and the metadata service's copy of the IPAM, L3 and DHCP facts that say what an
 * instance's network looks like and where its metadata is answered.
 */
export class MetadataProjection extends WholeStreamProjection<MetadataTx> {
  constructor(naming: Naming) {
    super('metadata', naming, { meta: '*', ipam: ['network'], l3: ['router', 'floatingip'], dhcp: ['server'] }, TABLES, {
      instance: instances,
      server: dhcpServers,
      network: mirror,
      router: mirror,
      floatingip: mirror,
    });
  }
}
