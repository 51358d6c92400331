import { type DhcpEvent, type Naming } from '@ncp/contracts';
import { WholeStreamProjection, byType } from '@ncp/eventstore';
import { FactMirror } from '@ncp/fact-mirror';
import { type DhcpTx } from '../infrastructure/prisma';

/** DHCP's columns of IPAM's networks, subnets and ports and of the agents. */
const mirror = new FactMirror<DhcpTx>((tx) => tx.factMirror, {
  network: { rows: (tx) => tx.ipamNetwork, columns: ['projectId', 'name', 'mtu', 'networkType', 'physicalNetwork'] },
  subnet: {
    rows: (tx) => tx.ipamSubnet,
    columns: ['networkId', 'ipVersion', 'cidr', 'gatewayIp', 'enableDhcp', 'ipv6RaMode', 'ipv6AddressMode', 'dnsNameservers', 'hostRoutes'],
  },
  port: {
    rows: (tx) => tx.ipamPort,
    columns: ['networkId', 'macAddress', 'adminStateUp', 'deviceOwner', 'deviceId', 'bindingHostId', 'bindingProfile', 'fixedIps', 'extraDhcpOpts'],
  },
  agent: { rows: (tx) => tx.agent, columns: ['id', 'row', 'roles', 'physnets'] },
});

/** Its own tables and its mirror's, emptied for a rebuild. */
const TABLES = ['dhcp_servers', 'ipam_networks', 'ipam_subnets', 'ipam_ports', 'agents', 'fact_mirror'];

/** Where each network's DHCP server runs, with which port, and how it is (a server is its network's). */
const servers = byType<DhcpTx, DhcpEvent>({
  DhcpServerScheduled: (tx, { id: networkId, at, data: { host, row, pinned } }) => {
    const data = { host, row, pinned, status: 'BUILD', reason: 'scheduled', updatedAt: at };
    return tx.dhcpServer.upsert({ where: { networkId }, create: { networkId, ...data }, update: data });
  },
  DhcpPortAssigned: (tx, { id: networkId, at, data }) => tx.dhcpServer.update({ where: { networkId }, data: { portId: data.portId, updatedAt: at } }),
  DhcpPortReleased: (tx, { id: networkId, at }) => tx.dhcpServer.update({ where: { networkId }, data: { portId: null, updatedAt: at } }),
  DhcpServerUnscheduled: (tx, { id: networkId }) => tx.dhcpServer.deleteMany({ where: { networkId } }),
  DhcpServerStatusChanged: (tx, { id: networkId, at, data }) =>
    tx.dhcpServer.update({ where: { networkId }, data: { status: data.status, reason: data.reason, updatedAt: at } }),
});

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): DHCP's own
 * server placements, and its copy of the IPAM and agent facts its intents are made of.
 */
export class DhcpProjection extends WholeStreamProjection<DhcpTx> {
  constructor(naming: Naming) {
    super('dhcp', naming, { dhcp: '*', ipam: ['network'], agent: ['agent'] }, TABLES, { server: servers, network: mirror, agent: mirror });
  }
}
