import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factStream, projectionDatabase, projectionSuite } from '@ncp/testing';
import { Naming } from '@ncp/contracts';
import { METADATA_SCHEMA, createPrisma } from '../infrastructure/prisma';
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
  .add('server', 'net-a', 'DhcpPortAssigned', { portId: 'port-02' })
  .add('server', 'net-b', 'DhcpServerScheduled', { host: 'h2', row: 'r1', pinned: false })
  .add('server', 'net-b', 'DhcpPortAssigned', { portId: 'port-03' })
  .add('server', 'net-b', 'DhcpPortReleased', { portId: 'port-03' }).events;
// the metadata service does not follow the agents
const followed = events.filter((e) => e.envelope.aggregate !== 'agent');

const isForeign = (aggregate: string) => ['network', 'router', 'floatingip'].includes(aggregate);

const db = projectionSuite({ it, beforeAll, afterAll, expect }, () =>
  projectionDatabase('metadata', createPrisma, new MetadataProjection(new Naming({ prefix: 'ev' })), METADATA_SCHEMA),
);

describe('metadata projection', () => {
  it("keeps the metadata service's columns of the networks, subnets, ports, routers and floating IPs the events leave, beside its instances", async () => {
    const client = await db.after(followed);
    expect(await client.ipamNetwork.findMany()).toEqual([{ id: 'net-a', mtu: 1400 }]);
    expect(
      (await client.ipamSubnet.findMany({ orderBy: { id: 'asc' } })).map((s) => [s.id, s.gatewayIp, s.enableDhcp, s.ipv6AddressMode, s.dnsNameservers]),
    ).toEqual([
      ['sub-a4', '10.0.0.254', true, null, ['192.0.2.53']],
      ['sub-a6', 'fd00::1', true, 'slaac', []],
    ]);
    const created = events.find((e) => e.envelope.type === 'PortCreated')?.envelope.occurredAt ?? '';
    expect(await client.ipamPort.findMany({ where: { id: 'port-01' } })).toEqual([
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
    expect((await client.ipamPort.findMany({ orderBy: { id: 'asc' } })).map((row) => row.id)).toEqual(['port-01', 'port-02']);
    expect(await client.router.findMany()).toEqual([{ id: 'rtr-2', host: null, row: null }]);
    expect(await client.routerInterface.findMany()).toEqual([{ portId: 'port-01', routerId: 'rtr-2', networkId: 'net-a' }]);
    expect(await client.floatingIp.findMany({ orderBy: { id: 'asc' } })).toEqual([
      { id: 'fip-1', floatingIpAddress: '203.0.113.50', portId: 'port-01', fixedIpAddress: '10.0.0.5' },
      { id: 'fip-2', floatingIpAddress: '203.0.113.51', portId: null, fixedIpAddress: null },
    ]);
    expect((await client.instance.findMany()).map((i) => i.id)).toEqual(['vm-port-01']);
    expect(await client.dhcpServer.findMany({ orderBy: { networkId: 'asc' } })).toEqual([
      { networkId: 'net-a', host: 'h1', row: 'r1', portId: 'port-02' },
      // a released port is not kept
      { networkId: 'net-b', host: 'h2', row: 'r1', portId: null },
    ]);
  });

  db.itReplays(followed, { isForeign, mirrorTables: MIRROR_TABLES, ownTables: ['instances', 'dhcp_servers'], reversed: 'all' });
});
