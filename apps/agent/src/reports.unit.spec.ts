import { type DhcpServerIntent, type L2PortIntent, type RaIntent, type RouterIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { reports } from './reports';

const NET = 'aa000000-0000-4000-8000-000000000001';
const port = (id: string, adminStateUp = true): L2PortIntent => ({
  id,
  networkId: NET,
  mac: 'fa:16:3e:00:00:01',
  adminStateUp,
  workload: { netns: 'vm1', ifname: 'eth0' },
});
const router = (id: string, fips: string[], adminStateUp = true): RouterIntent => ({
  id,
  namespace: `qrouter-${id.slice(0, 8)}`,
  adminStateUp,
  interfaces: [],
  routes: [],
  snat: [],
  floatingIps: fips.map((f) => ({ id: f, floatingIp: '203.0.113.10', fixedIp: '10.0.0.5' })),
});
const host = (portId: string, ip: string) => ({
  portId,
  macAddress: `fa:16:3e:00:00:${portId.slice(-2)}`,
  hostname: portId,
  ipAddresses: [ip],
  extraOptions: [],
});
const server: DhcpServerIntent = {
  networkId: NET,
  namespace: 'qdhcp-aa000000',
  ifname: 'tap-dhcp',
  portId: 'dhcp-port',
  addresses: ['10.0.0.2/24'],
  mtu: 1450,
  domain: 'openstacklocal',
  leaseSeconds: 86400,
  subnets: [],
  hosts: [host('p-01', '10.0.0.11'), host('p-02', '10.0.0.12')],
};
const ra = (routerId: string): RaIntent => ({
  routerId,
  namespace: 'qrouter-r1',
  routerLifetime: 1800,
  validLifetime: 86400,
  preferredLifetime: 14400,
  minInterval: 200,
  maxInterval: 600,
  interfaces: [],
});

describe('status reports from driver results', () => {
  it('reports plugged ports ACTIVE, admin-down ones DOWN, and a port of a failed network with the network error', () => {
    const got = reports({
      l2: {
        ports: [port('p1'), port('p2', false), port('p3')],
        results: [
          { item: `network:${NET}`, ok: true },
          { item: 'port:p1', ok: true },
          { item: 'port:p2', ok: true },
          { item: 'port:p3', ok: false, error: 'RTNETLINK answers: File exists' },
        ],
      },
    });
    expect(got).toEqual([
      { kind: 'port', id: 'p1', networkId: NET, status: 'ACTIVE', reason: 'plugged' },
      { kind: 'port', id: 'p2', networkId: NET, status: 'DOWN', reason: 'admin down' },
      { kind: 'port', id: 'p3', networkId: NET, status: 'ERROR', reason: 'RTNETLINK answers: File exists' },
    ]);
    const netFailed = reports({
      l2: {
        ports: [port('p1')],
        results: [
          { item: `network:${NET}`, ok: false, error: 'no VXLAN' },
          { item: 'port:p1', ok: true },
        ],
      },
    });
    expect(netFailed).toEqual([{ kind: 'port', id: 'p1', networkId: NET, status: 'ERROR', reason: `network ${NET}: no VXLAN` }]);
  });

  it('reports the role of an HA router on this host, in its reason too (a new role is a change)', () => {
    const reported = reports({
      l3: {
        routers: [router('r1', []), router('r2', [])],
        results: [
          { item: 'router:r1', ok: true, haState: 'active' },
          { item: 'router:r2', ok: true, haState: 'standby' },
        ],
      },
    });
    expect(reported).toEqual([
      { kind: 'router', id: 'r1', networkId: null, status: 'ACTIVE', reason: 'configured, HA active', haState: 'active' },
      { kind: 'router', id: 'r2', networkId: null, status: 'ACTIVE', reason: 'configured, HA standby', haState: 'standby' },
    ]);
  });

  it('reports each router and its floating IPs, each with its own error', () => {
    const got = reports({
      l3: {
        routers: [router('r1', ['f1', 'f2']), router('r2', [], false)],
        results: [
          { item: 'router:r1', ok: true },
          { item: 'fip:f1', ok: true },
          { item: 'fip:f2', ok: false, error: 'router:r1 failed: nft: syntax error' },
          { item: 'router:r2', ok: true },
          { item: 'sweep', ok: true },
        ],
      },
    });
    expect(got).toEqual([
      { kind: 'router', id: 'r1', networkId: null, status: 'ACTIVE', reason: 'configured' },
      { kind: 'floatingip', id: 'f1', networkId: null, status: 'ACTIVE', reason: 'NAT in place' },
      { kind: 'floatingip', id: 'f2', networkId: null, status: 'ERROR', reason: 'router:r1 failed: nft: syntax error' },
      { kind: 'router', id: 'r2', networkId: null, status: 'DOWN', reason: 'admin down' },
    ]);
  });

  it('reports a DHCP server and each port it serves, except those its warnings name, then the RAs', () => {
    const got = reports({
      dhcp: {
        servers: [server],
        ras: [ra('r1'), ra('r2')],
        results: [
          { item: `dhcp:${NET}`, ok: true, warnings: ['port p-02: MAC in use by another port'] },
          { item: 'ra:r1', ok: true },
          { item: 'ra:r2', ok: false, error: 'interface qr-x not plugged yet' },
        ],
      },
    });
    expect(got).toEqual([
      { kind: 'dhcp', id: NET, networkId: NET, status: 'ACTIVE', reason: 'serving' },
      { kind: 'dhcp_port', id: 'p-01', networkId: NET, status: 'ACTIVE', reason: 'served: fa:16:3e:00:00:01 10.0.0.11' },
      { kind: 'ra', id: 'r1', networkId: null, status: 'ACTIVE', reason: 'advertising' },
      { kind: 'ra', id: 'r2', networkId: null, status: 'ERROR', reason: 'interface qr-x not plugged yet' },
    ]);
  });

  it('reports no served port for a DHCP server that failed', () => {
    const got = reports({ dhcp: { servers: [server], ras: [], results: [{ item: `dhcp:${NET}`, ok: false, error: 'dnsmasq exited' }] } });
    expect(got).toEqual([{ kind: 'dhcp', id: NET, networkId: NET, status: 'ERROR', reason: 'dnsmasq exited' }]);
  });

  it('reports nothing for drivers that did not run, and in driver order for those that did', () => {
    expect(reports({})).toEqual([]);
    const got = reports({
      bgp: {
        speakers: [{ speakerId: 's1', localAs: 64711, routerId: '10.1.0.2', namespace: null, peers: [], routes: [] }],
        results: [{ item: 'bgp:s1', ok: false, error: 'bird: no such file' }],
      },
      l2: { ports: [port('p1')], results: [{ item: 'port:p1', ok: true }] },
    });
    expect(got.map((r) => r.kind)).toEqual(['port', 'bgp_speaker']);
  });
});
