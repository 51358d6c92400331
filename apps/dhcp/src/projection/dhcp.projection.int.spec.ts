import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factStream, projectionDatabase, projectionSuite } from '@ncp/testing';
import { Naming } from '@ncp/contracts';
import { DHCP_SCHEMA, createPrisma } from '../infrastructure/prisma';
import { DhcpProjection } from './dhcp.projection';

/**
 * DHCP's projection over real IPAM, agent and DHCP events: its copy of IPAM's and the agents'
 * facts, and its own server placements beside them. Rebuilt, redelivered or reversed, the
 * foreign facts give the same tables.
 */

const MIRROR_TABLES = ['ipam_networks', 'ipam_subnets', 'ipam_ports', 'agents'];
const events = factStream()
  .add('server', 'net-a', 'DhcpServerScheduled', { host: 'h1', row: 'r1', pinned: false })
  .add('server', 'net-a', 'DhcpPortAssigned', { portId: 'port-02' }).events;

const isForeign = (aggregate: string) => aggregate !== 'server';

const db = projectionSuite({ it, beforeAll, afterAll, expect }, () =>
  projectionDatabase('dhcp', createPrisma, new DhcpProjection(new Naming({ prefix: 'ev' })), DHCP_SCHEMA),
);

describe('DHCP projection', () => {
  it("keeps DHCP's columns of the networks, subnets, ports and agents the events leave, and its servers", async () => {
    const client = await db.after(events);
    expect(await client.ipamNetwork.findMany()).toEqual([{ id: 'net-a', projectId: 'p', name: 'net', mtu: 1400, networkType: 'vxlan', physicalNetwork: null }]);
    expect((await client.ipamSubnet.findMany({ orderBy: { id: 'asc' } })).map((s) => [s.id, s.gatewayIp, s.dnsNameservers, s.ipv6RaMode])).toEqual([
      ['sub-a4', '10.0.0.254', ['192.0.2.53'], null],
      ['sub-a6', 'fd00::1', [], 'slaac'],
    ]);
    expect(await client.ipamPort.findMany({ orderBy: { id: 'asc' }, select: { id: true, fixedIps: true, deviceId: true, extraDhcpOpts: true } })).toEqual([
      {
        id: 'port-01',
        deviceId: 'vm-port-01',
        extraDhcpOpts: [],
        fixedIps: [
          { subnetId: 'sub-a4', ipAddress: '10.0.0.5' },
          { subnetId: 'sub-a6', ipAddress: 'fd00::5' },
        ],
      },
      { id: 'port-02', deviceId: 'vm-x', extraDhcpOpts: [], fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.9' }] },
    ]);
    expect(await client.agent.findMany({ orderBy: { host: 'asc' } })).toEqual([
      { id: 'agent-r1-h1', row: 'r1', host: 'h1', roles: ['compute', 'network'], physnets: { physnet1: 'br-ex' } },
      { id: 'agent-r2-h2', row: 'r2', host: 'h2', roles: ['compute', 'network'], physnets: { physnet1: 'br-ex' } },
    ]);
    expect(await client.dhcpServer.findMany({ select: { networkId: true, host: true, portId: true, status: true } })).toEqual([
      { networkId: 'net-a', host: 'h1', portId: 'port-02', status: 'BUILD' },
    ]);
  });

  db.itReplays(events, { isForeign, mirrorTables: MIRROR_TABLES, ownTables: ['dhcp_servers'], reversed: 'all' });
});
