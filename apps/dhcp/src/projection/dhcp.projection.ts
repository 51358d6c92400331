import { type DhcpEvent, type Naming, type RecordedEvent } from '@ncp/contracts';
import { WholeStreamProjection } from '@ncp/eventstore';
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

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): DHCP's own
 * server placements, and its copy of the IPAM and agent facts its intents are made of.
 */
export class DhcpProjection extends WholeStreamProjection<DhcpTx> {
  constructor(naming: Naming) {
    super('dhcp', naming, { dhcp: '*', ipam: ['network'], agent: ['agent'] }, TABLES);
  }

  async apply(tx: DhcpTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    if (e.aggregate === 'network' || e.aggregate === 'agent') return mirror.apply(tx, recorded);
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
}
