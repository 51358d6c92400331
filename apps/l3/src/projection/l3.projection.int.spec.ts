import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factPort, factStream, projectionDatabase, projectionSuite } from '@ncp/testing';
import { Naming } from '@ncp/contracts';
import { L3_SCHEMA, createPrisma } from '../infrastructure/prisma';
import { L3Projection } from './l3.projection';

/**
 * L3's projection over real IPAM, agent and L3 events: its copy of IPAM's and the agents'
 * facts beside its own routers and floating IPs. Rebuilt, redelivered or reversed, the foreign
 * facts give the same tables.
 */

const MIRROR_TABLES = ['ipam_networks', 'ipam_subnets', 'ipam_ports', 'agents'];
const fip4 = { projectId: 'p', description: '', floatingNetworkId: 'net-b', floatingPortId: 'fp4', subnetId: 'sub-b4', floatingIpAddress: '203.0.113.53' };
const events = factStream()
  // a router port L3 itself asked for, and a floating IP whose port goes
  .add(
    'network',
    'net-a',
    'PortCreated',
    factPort('port-r1', [{ subnetId: 'sub-a4', ipAddress: '10.0.0.10' }], { deviceOwner: 'network:router_interface' }),
    'l3 (for tester)',
  )
  .add('floatingip', 'fip-4', 'FloatingIpCreated', fip4)
  .add('floatingip', 'fip-4', 'FloatingIpAssociated', { portId: 'port-02', fixedIpAddress: '10.0.0.9', routerId: 'rtr-2' })
  .add('network', 'net-a', 'PortDeleted', { portId: 'port-02', fixedIps: [] }).events;

const isForeign = (aggregate: string) => aggregate === 'network' || aggregate === 'agent';

const db = projectionSuite({ it, beforeAll, afterAll, expect }, () =>
  projectionDatabase('l3', createPrisma, new L3Projection(new Naming({ prefix: 'ev' })), L3_SCHEMA),
);

describe('L3 projection', () => {
  it("keeps L3's columns of the networks, subnets, ports and agents the events leave, beside its routers and floating IPs", async () => {
    const client = await db.after(events);
    expect(await client.ipamNetwork.findMany()).toEqual([
      { id: 'net-a', projectId: 'p', external: false, shared: false, networkType: 'vxlan', physicalNetwork: null },
    ]);
    expect((await client.ipamSubnet.findMany({ orderBy: { id: 'asc' } })).map((s) => [s.id, s.projectId, s.gatewayIp, s.addressScopeId])).toEqual([
      ['sub-a4', 'p', '10.0.0.254', null],
      ['sub-a6', 'p', 'fd00::1', null],
    ]);
    expect(await client.ipamPort.findMany({ orderBy: { id: 'asc' }, select: { id: true, fixedIps: true, createdByL3: true } })).toEqual([
      {
        id: 'port-01',
        createdByL3: false,
        fixedIps: [
          { subnetId: 'sub-a4', ipAddress: '10.0.0.5' },
          { subnetId: 'sub-a6', ipAddress: 'fd00::5' },
        ],
      },
      { id: 'port-r1', createdByL3: true, fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.10' }] },
    ]);
    expect((await client.agent.findMany({ orderBy: { host: 'asc' } })).map((a) => [a.id, a.host, a.tunnelIp])).toEqual([
      ['agent-r1-h1', 'h1', '192.0.2.1'],
      ['agent-r2-h2', 'h2', '192.0.2.2'],
    ]);
    expect(await client.router.findMany({ select: { id: true, gatewayNetworkId: true, status: true, interfaces: { select: { portId: true } } } })).toEqual([
      { id: 'rtr-2', gatewayNetworkId: 'net-b', status: 'ACTIVE', interfaces: [{ portId: 'port-01' }] },
    ]);
    // port-02's deletion let its floating IP go before L3's own disassociation
    expect(await client.floatingIp.findMany({ orderBy: { id: 'asc' }, select: { id: true, portId: true, routerId: true, status: true } })).toEqual([
      { id: 'fip-1', portId: 'port-01', routerId: 'rtr-2', status: 'DOWN' },
      { id: 'fip-2', portId: null, routerId: null, status: 'DOWN' },
      { id: 'fip-4', portId: null, routerId: null, status: 'DOWN' },
    ]);
  });

  db.itReplays(events, { isForeign, mirrorTables: MIRROR_TABLES, ownTables: ['routers', 'router_interfaces', 'floating_ips'], reversed: 'mirror' });
});
