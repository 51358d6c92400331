import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEach, factStream, projectionDatabase, replayedTables, type ProjectionDatabase } from '@ncp/testing';
import { Naming } from '@ncp/contracts';
import { METADATA_SCHEMA, createPrisma, type MetadataPrisma, type MetadataTx } from '../infrastructure/prisma';
import { MetadataProjection } from './metadata.projection';

/**
 * The metadata service's projection over real IPAM, L3, DHCP and instance events: its copy of
 * the networks, subnets, ports, routers and floating IPs, beside its instances and DHCP
 * servers. Rebuilt, redelivered or reversed, the mirrored facts give the same tables.
 */

const MIRROR_TABLES = ['ipam_networks', 'ipam_subnets', 'ipam_ports', 'routers', 'router_interfaces', 'floating_ips'];
const instance = { projectId: 'p', name: 'vm', hostname: 'vm', availabilityZone: 'nova', publicKeys: [], userData: null, metadata: {}, vendorData: {} };
const events = factStream()
  .add('instance', 'vm-port-01', 'InstanceRegistered', instance)
  .add('server', 'net-a', 'DhcpServerScheduled', { host: 'h1', row: 'r1', pinned: false })
  .add('server', 'net-a', 'DhcpPortAssigned', { portId: 'port-02' }).events;
// the metadata service does not follow the agents
const followed = events.filter((e) => e.envelope.aggregate !== 'agent');

const isForeign = (aggregate: string) => ['network', 'router', 'floatingip'].includes(aggregate);

let db: ProjectionDatabase<MetadataPrisma, MetadataTx>;

beforeAll(async () => {
  db = await projectionDatabase('metadata', createPrisma, new MetadataProjection(new Naming({ prefix: 'ev' })), METADATA_SCHEMA);
});

afterAll(() => db?.close());

describe('metadata projection', () => {
  it("keeps the metadata service's columns of the networks, subnets, ports, routers and floating IPs the events leave, beside its instances", async () => {
    await applyEach(db.p, followed);
    expect(await db.client.ipamNetwork.findMany()).toEqual([{ id: 'net-a', mtu: 1400 }]);
    expect(
      (await db.client.ipamSubnet.findMany({ orderBy: { id: 'asc' } })).map((s) => [s.id, s.gatewayIp, s.enableDhcp, s.ipv6AddressMode, s.dnsNameservers]),
    ).toEqual([
      ['sub-a4', '10.0.0.254', true, null, ['192.0.2.53']],
      ['sub-a6', 'fd00::1', true, 'slaac', []],
    ]);
    const created = events.find((e) => e.envelope.type === 'PortCreated')?.envelope.occurredAt ?? '';
    expect(await db.client.ipamPort.findMany({ where: { id: 'port-01' } })).toEqual([
      {
        id: 'port-01',
        networkId: 'net-a',
        projectId: 'p',
        macAddress: 'fa:16:3e:00:00:01',
        deviceOwner: 'compute:nova',
        deviceId: 'vm-port-01',
        fixedIps: [
          { subnetId: 'sub-a4', ipAddress: '10.0.0.5' },
          { subnetId: 'sub-a6', ipAddress: 'fd00::5' },
        ],
        createdAt: new Date(created),
      },
    ]);
    expect((await db.client.ipamPort.findMany({ orderBy: { id: 'asc' } })).map((row) => row.id)).toEqual(['port-01', 'port-02']);
    expect(await db.client.router.findMany()).toEqual([{ id: 'rtr-2', host: null, row: null }]);
    expect(await db.client.routerInterface.findMany()).toEqual([{ portId: 'port-01', routerId: 'rtr-2', networkId: 'net-a' }]);
    expect(await db.client.floatingIp.findMany({ orderBy: { id: 'asc' } })).toEqual([
      { id: 'fip-1', floatingIpAddress: '203.0.113.50', portId: 'port-01', fixedIpAddress: '10.0.0.5' },
      { id: 'fip-2', floatingIpAddress: '203.0.113.51', portId: null, fixedIpAddress: null },
    ]);
    expect((await db.client.instance.findMany()).map((i) => i.id)).toEqual(['vm-port-01']);
    expect(await db.client.dhcpServer.findMany()).toEqual([{ networkId: 'net-a', host: 'h1', row: 'r1', portId: 'port-02' }]);
  });

  it('rebuilt, with the mirrored events delivered again, or reversed, the tables are the same', async () => {
    const r = await replayedTables(db.p, followed, isForeign, [...MIRROR_TABLES, 'instances', 'dhcp_servers']);
    expect(r.once.ipam_ports).toHaveLength(2);
    expect(r.rebuilt).toEqual(r.once);
    expect(r.redelivered).toEqual(r.once);
    expect(r.reversed).toEqual(r.once);
  });
});
