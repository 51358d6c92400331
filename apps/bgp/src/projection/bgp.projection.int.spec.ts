import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factStream, projectionDatabase, projectionSuite } from '@ncp/testing';
import { Naming } from '@ncp/contracts';
import { BGP_SCHEMA, createPrisma } from '../infrastructure/prisma';
import { BgpProjection } from './bgp.projection';

/**
 * BGP's projection over real IPAM, agent, L3 and BGP events: its copy of the networks, subnets,
 * routers, floating IPs and agents, beside its speakers, peers and the sessions the agents
 * report. Rebuilt, redelivered or reversed, the foreign facts give the same tables.
 */

const MIRROR_TABLES = ['ipam_networks', 'ipam_subnets', 'routers', 'router_interfaces', 'floating_ips', 'agents'];
const session = { speakerId: 'spk-1', peerId: 'peer-1', state: 'Established', since: '2026-11-01T00:10:00.000Z', prefixesSent: 3, lastError: null };
const events = factStream()
  .add('peer', 'peer-1', 'BgpPeerCreated', {
    projectId: 'p',
    name: 'upstream',
    peerIp: '192.0.2.254',
    remoteAs: 65001,
    authType: 'none',
    password: null,
    acceptDefaultRoute: true,
    acceptedPrefixes: ['10.99.0.0/16'],
    maxPrefixes: 10,
    bfd: true,
  })
  .add('speaker', 'spk-1', 'BgpSpeakerCreated', {
    projectId: 'p',
    localAs: 65000,
    ipVersion: 4,
    name: 's',
    advertiseFloatingIpHostRoutes: true,
    advertiseTenantNetworks: true,
  })
  .add('speaker', 'spk-1', 'BgpSpeakerPeerAdded', { peerId: 'peer-1', peerIp: '192.0.2.254' })
  .add('speaker', 'spk-1', 'BgpSpeakerNetworkAdded', { networkId: 'net-a' })
  .add('speaker', 'spk-1', 'BgpSpeakerScheduled', { hosts: [{ host: 'h1', row: 'r1', pinned: false }], reason: 'scheduled' })
  .add('agent', 'agent-r1-h1', 'ResourceStatusReported', {
    host: 'h1',
    resources: [{ kind: 'bgp_session', id: 'spk-1/peer-1', networkId: null, status: 'ACTIVE', reason: '', session }],
  })
  .add('speaker', 'spk-1', 'BgpSpeakerRoutesLearned', {
    peerId: 'peer-1',
    host: 'h1',
    routes: [{ destination: '0.0.0.0/0', nextHop: '192.0.2.254', asPath: [65001, 4200000000], med: null, localPref: 100, best: true }],
  }).events;

const isForeign = (aggregate: string) => aggregate !== 'speaker' && aggregate !== 'peer';

const db = projectionSuite({ it, beforeAll, afterAll, expect }, () =>
  projectionDatabase('bgp', createPrisma, new BgpProjection(new Naming({ prefix: 'ev' })), BGP_SCHEMA),
);

describe('BGP projection', () => {
  it("keeps BGP's columns of the networks, subnets, routers, floating IPs and agents the events leave, beside its speakers and sessions", async () => {
    const client = await db.after(events);
    expect(await client.ipamNetwork.findMany()).toEqual([{ id: 'net-a', projectId: 'p', name: 'net', external: false }]);
    expect(await client.ipamSubnet.findMany({ orderBy: { id: 'asc' } })).toEqual([
      { id: 'sub-a4', networkId: 'net-a', ipVersion: 4, cidr: '10.0.0.0/24', addressScopeId: null },
      { id: 'sub-a6', networkId: 'net-a', ipVersion: 6, cidr: 'fd00::/64', addressScopeId: null },
    ]);
    expect(await client.router.findMany()).toEqual([
      { id: 'rtr-2', gatewayNetworkId: 'net-b', gatewayFixedIps: [{ subnetId: 'sub-b4', ipAddress: '203.0.113.3' }] },
    ]);
    expect(await client.routerInterface.findMany()).toEqual([
      { portId: 'port-01', routerId: 'rtr-2', fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }] },
    ]);
    expect(await client.floatingIp.findMany({ orderBy: { id: 'asc' } })).toEqual([
      { id: 'fip-1', floatingNetworkId: 'net-b', floatingIpAddress: '203.0.113.50', fixedIpAddress: '10.0.0.5', routerId: 'rtr-2' },
      { id: 'fip-2', floatingNetworkId: 'net-b', floatingIpAddress: '203.0.113.51', fixedIpAddress: null, routerId: null },
    ]);
    expect(await client.agent.findMany({ orderBy: { host: 'asc' } })).toEqual([
      { id: 'agent-r1-h1', row: 'r1', host: 'h1', roles: ['compute', 'network'], tunnelIp: '192.0.2.1' },
      { id: 'agent-r2-h2', row: 'r2', host: 'h2', roles: ['compute', 'network'], tunnelIp: '192.0.2.2' },
    ]);
    expect(await client.bgpSession.findMany({ select: { speakerId: true, peerId: true, host: true, state: true, prefixesSent: true } })).toEqual([
      { speakerId: 'spk-1', peerId: 'peer-1', host: 'h1', state: 'Established', prefixesSent: 3 },
    ]);
    expect(await client.bgpPeer.findMany({ select: { acceptDefaultRoute: true, acceptedPrefixes: true, maxPrefixes: true, bfd: true } })).toEqual([
      { acceptDefaultRoute: true, acceptedPrefixes: ['10.99.0.0/16'], maxPrefixes: 10, bfd: true },
    ]);
    expect(await client.bgpLearnedRoute.findMany({ omit: { learnedAt: true } })).toEqual([
      {
        speakerId: 'spk-1',
        peerId: 'peer-1',
        host: 'h1',
        destination: '0.0.0.0/0',
        nextHop: '192.0.2.254',
        asPath: [65001n, 4200000000n],
        med: null,
        localPref: 100n,
        best: true,
      },
    ]);
  });

  db.itReplays(events, {
    isForeign,
    mirrorTables: MIRROR_TABLES,
    ownTables: ['bgp_speakers', 'bgp_peers', 'bgp_sessions', 'bgp_learned_routes'],
    reversed: 'mirror',
  });
});
