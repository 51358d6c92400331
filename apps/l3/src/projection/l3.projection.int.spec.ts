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
function learned(nextHop: string) {
  return { destination: '0.0.0.0/0', nextHop, asPath: [14907, 65000], med: 5, localPref: null, best: true };
}
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
  .add('network', 'net-a', 'PortDeleted', { portId: 'port-02', fixedIps: [] })
  // a BGP speaker of net-b, learning on two hosts, then leaving h1
  .add('speaker', 'spk-1', 'BgpSpeakerCreated', {
    projectId: 'p',
    name: 's',
    localAs: 64711,
    ipVersion: 4,
    advertiseFloatingIpHostRoutes: true,
    advertiseTenantNetworks: true,
  })
  .add('speaker', 'spk-1', 'BgpSpeakerNetworkAdded', { networkId: 'net-b' })
  .add('speaker', 'spk-1', 'BgpSpeakerPeerAdded', { peerId: 'peer-1', peerIp: '10.255.0.1' })
  .add('speaker', 'spk-1', 'BgpSpeakerScheduled', {
    hosts: [
      { host: 'h1', row: 'r1', pinned: false },
      { host: 'h2', row: 'r2', pinned: false },
    ],
    reason: 'placed',
  })
  .add('speaker', 'spk-1', 'BgpSpeakerRoutesLearned', { peerId: 'peer-1', host: 'h1', routes: [learned('192.168.81.1')] })
  .add('speaker', 'spk-1', 'BgpSpeakerRoutesLearned', { peerId: 'peer-1', host: 'h2', routes: [learned('192.168.81.1'), learned('192.168.81.3')] })
  .add('speaker', 'spk-1', 'BgpSpeakerRoutesLearned', { peerId: 'peer-1', host: 'h2', routes: [learned('192.168.81.3')] })
  .add('speaker', 'spk-1', 'BgpSpeakerScheduled', { hosts: [{ host: 'h2', row: 'r2', pinned: false }], reason: 'h1 died' }).events;

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
    expect(await client.bgpSpeaker.findMany()).toEqual([{ id: 'spk-1', networkIds: ['net-b'] }]);
    // h2's latest report only; h1's routes went with h1
    expect(await client.bgpLearnedRoute.findMany()).toEqual([
      { speakerId: 'spk-1', peerId: 'peer-1', host: 'h2', destination: '0.0.0.0/0', nextHop: '192.168.81.3', asPathLength: 2, med: 5n, localPref: null },
    ]);
  });

  db.itReplays(events, {
    isForeign,
    mirrorTables: MIRROR_TABLES,
    ownTables: ['routers', 'router_interfaces', 'floating_ips', 'bgp_speakers', 'bgp_learned_routes'],
    reversed: 'mirror',
  });
});
