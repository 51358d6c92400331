import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEach, factPort, factStream, projectionDatabase, replayedTables, type ProjectionDatabase } from '@ncp/testing';
import { Naming } from '@ncp/contracts';
import { L3_SCHEMA, createPrisma, type L3Prisma, type L3Tx } from '../infrastructure/prisma';
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

let db: ProjectionDatabase<L3Prisma, L3Tx>;

beforeAll(async () => {
  db = await projectionDatabase('l3', createPrisma, new L3Projection(new Naming({ prefix: 'ev' })), L3_SCHEMA);
});

afterAll(() => db?.close());

describe('L3 projection', () => {
  it("keeps L3's columns of the networks, subnets, ports and agents the events leave, beside its routers and floating IPs", async () => {
    await applyEach(db.p, events);
    expect(await db.client.ipamNetwork.findMany()).toEqual([
      { id: 'net-a', projectId: 'p', external: false, shared: false, networkType: 'vxlan', physicalNetwork: null },
    ]);
    expect((await db.client.ipamSubnet.findMany({ orderBy: { id: 'asc' } })).map((s) => [s.id, s.projectId, s.gatewayIp, s.addressScopeId])).toEqual([
      ['sub-a4', 'p', '10.0.0.254', null],
      ['sub-a6', 'p', 'fd00::1', null],
    ]);
    expect(await db.client.ipamPort.findMany({ orderBy: { id: 'asc' }, select: { id: true, fixedIps: true, createdByL3: true } })).toEqual([
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
    expect((await db.client.agent.findMany({ orderBy: { host: 'asc' } })).map((a) => [a.id, a.host, a.tunnelIp])).toEqual([
      ['agent-r1-h1', 'h1', '192.0.2.1'],
      ['agent-r2-h2', 'h2', '192.0.2.2'],
    ]);
    expect(await db.client.router.findMany({ select: { id: true, gatewayNetworkId: true, status: true, interfaces: { select: { portId: true } } } })).toEqual([
      { id: 'rtr-2', gatewayNetworkId: 'net-b', status: 'ACTIVE', interfaces: [{ portId: 'port-01' }] },
    ]);
    // port-02's deletion let its floating IP go before L3's own disassociation
    expect(await db.client.floatingIp.findMany({ orderBy: { id: 'asc' }, select: { id: true, portId: true, routerId: true, status: true } })).toEqual([
      { id: 'fip-1', portId: 'port-01', routerId: 'rtr-2', status: 'DOWN' },
      { id: 'fip-2', portId: null, routerId: null, status: 'DOWN' },
      { id: 'fip-4', portId: null, routerId: null, status: 'DOWN' },
    ]);
  });

  it('rebuilt, or with the foreign events delivered again, the tables are the same; reversed, the mirror is', async () => {
    const r = await replayedTables(db.p, events, isForeign, [...MIRROR_TABLES, 'routers', 'router_interfaces', 'floating_ips']);
    expect(r.once.ipam_ports).toHaveLength(2);
    expect(r.rebuilt).toEqual(r.once);
    expect(r.redelivered).toEqual(r.once);
    for (const t of MIRROR_TABLES) expect(r.reversed[t]).toEqual(r.once[t]);
  });
});
