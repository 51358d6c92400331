import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack, type AgentProcess } from '@ncp/testing';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { waitUntil } from '../support/eventually';
import { Pinger } from '../support/pinger';
import { routedRowsTopology, startStack, tearDownScenario, wireVeths } from '../support/stack';

/**
 * The L2 data plane end to end, on the real kernel, in namespaces this test creates:
 * a "spine" routes between two row underlays (row-a 10.1.0.0/24, row-b 10.2.0.0/24),
 * host-a1 and host-b1 each run an agent, and an "upstream" sits on a flat provider
 * network of host-a1. Nothing is bridged to the machine's own interfaces.
 */
let stack: TestStack;
let api: NeutronClient;
let agentA: AgentProcess;
let agentB: AgentProcess;
const { topo, ns, create } = routedRowsTopology(['spine', 'ha1', 'hb1', 'up'], ['wa', 'wb', 'wc', 'wd', 'we'], { spine: 'spine', hostA: 'ha1', hostB: 'hb1' });

beforeAll(async () => {
  // The routed underlay between the rows, and host-a1's provider interface for physical
  // network extnet0, wired to the upstream (up before the agent uses it: it is the operator's).
  await create();
  await wireVeths(topo, [[ns.ha1, 'ext0', ns.up, 'ext']]);
  await topo.addAddress(ns.up, 'ext', '10.0.2.2/24');

  ({ stack, api } = await startStack({ env: { AGENT_DOWN_SECONDS: '4' } }));
  [agentA, agentB] = await Promise.all([
    stack.startAgent({ row: 'row-a', host: 'host-a1', tunnelIp: '10.1.0.2', hostNetns: ns.ha1, physnets: { extnet0: 'ext0' } }),
    stack.startAgent({ row: 'row-b', host: 'host-b1', tunnelIp: '10.2.0.2', hostNetns: ns.hb1 }),
  ]);
}, 120_000);

afterAll(() => tearDownScenario(stack, topo));

async function portStatus(id: string): Promise<string> {
  return (await api.get<{ port: { status: string } }>(`/v2.0/ports/${id}`)).body.port?.status ?? 'missing';
}

async function waitForStatus(id: string, status: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    `port ${id} ${status}`,
    () => portStatus(id),
    (s) => s === status,
    {
      timeoutMs,
      context: () => `agent A:\n${agentA.logs().slice(-3000)}\nagent B:\n${agentB.logs().slice(-3000)}`,
    },
  );
}

async function bindPort(networkId: string, host: string, netns: string, extra: Record<string, unknown> = {}): Promise<PortResource> {
  return api.create<PortResource>('ports', 'port', { network_id: networkId, 'binding:host_id': host, 'binding:profile': { netns }, ...extra });
}

/** Puts the port's API addresses on the workload's NIC (what DHCP/SLAAC will do later). */
async function configure(netns: string, port: PortResource, v4Prefix: number, v6Prefix = 64): Promise<void> {
  for (const f of port.fixed_ips) {
    const cidr = `${f.ip_address}/${f.ip_address.includes(':') ? v6Prefix : v4Prefix}`;
    await topo.exec(netns, ['ip', 'addr', 'add', cidr, 'dev', 'eth0', ...(f.ip_address.includes(':') ? ['nodad'] : [])]);
  }
}

const ping = (netns: string, address: string) => topo.exec(netns, ['ping', '-c', '2', '-W', '2', ...(address.includes(':') ? ['-6'] : []), address], 30_000);
const ipOf = (port: PortResource, v6: boolean) => port.fixed_ips.find((f) => f.ip_address.includes(':') === v6)?.ip_address ?? '';

describe('L2 across rows', () => {
  let net: Resource;
  let pa: PortResource;
  let pb: PortResource;
  let pc: PortResource;

  it('lists both agents with their rows', async () => {
    const agents = (await api.get<{ agents: { host: string; row: string; alive: boolean; agent_type: string }[] }>('/v2.0/agents')).body.agents;
    expect(agents.map((a) => [a.host, a.row, a.alive, a.agent_type])).toEqual([
      ['host-a1', 'row-a', true, 'Linux bridge agent'],
      ['host-b1', 'row-b', true, 'Linux bridge agent'],
    ]);
  });

  it('connects workloads on two rows over VXLAN, IPv4 and IPv6', async () => {
    net = await api.create('networks', 'network', { name: 'rows', 'provider:network_type': 'vxlan' });
    await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 4, cidr: '10.50.0.0/24' });
    await api.create('subnets', 'subnet', { network_id: net.id, ip_version: 6, cidr: '2001:db8:50::/64', ipv6_address_mode: 'slaac' });
    pa = await bindPort(net.id, 'host-a1', ns.wa);
    pb = await bindPort(net.id, 'host-b1', ns.wb);
    pc = await bindPort(net.id, 'host-a1', ns.wc);
    for (const p of [pa, pb, pc]) await waitForStatus(p.id, 'ACTIVE');
    await configure(ns.wa, pa, 24);
    await configure(ns.wb, pb, 24);
    await configure(ns.wc, pc, 24);
    // The workload NIC carries the port's MAC.
    expect(await topo.exec(ns.wa, ['cat', '/sys/class/net/eth0/address'])).toBe(`${pa.mac_address}\n`);
    await ping(ns.wa, ipOf(pb, false));
    await ping(ns.wb, ipOf(pa, false));
    await ping(ns.wa, ipOf(pb, true));
    await ping(ns.wc, ipOf(pb, true));
  });

  it('survives kill -9 of an agent while ports change, without dropping a packet of the survivors', async () => {
    const target = ipOf(pb, false);
    // Continuous ping from the surviving port on host-a1 to host-b1 for the whole episode.
    const pinger = Pinger.start(ns.wa, target);
    await pinger.moreReplies(5);

    await agentA.kill('SIGKILL');
    // While the agent is away: its ports go DOWN in the API once it is declared dead...
    await waitForStatus(pa.id, 'DOWN', 20_000);
    // ...one of its ports is deleted and another is created for it.
    expect((await api.delete(`/v2.0/ports/${pc.id}`)).status).toBe(204);
    const pd = await bindPort(net.id, 'host-a1', ns.wd);
    // the survivors keep talking with the agent away
    await pinger.moreReplies(5);
    agentA.start();
    await waitForStatus(pd.id, 'ACTIVE');
    await waitForStatus(pa.id, 'ACTIVE');
    // The deleted port's veth is gone from the host; the new one works.
    const links = await topo.exec(ns.ha1, ['ip', '-o', 'link', 'show']);
    expect(links).not.toContain(`tap${pc.id.replace(/-/g, '').slice(0, 11)}`);
    expect(links).toContain(`tap${pd.id.replace(/-/g, '').slice(0, 11)}`);
    await configure(ns.wd, pd, 24);
    await ping(ns.wd, target);
    await pinger.moreReplies(5);

    const { sent, received, output } = await pinger.stop();
    expect(sent, output).toBeGreaterThan(20);
    expect(received, output).toBe(sent);
  });

  it('reaches the upstream over a flat provider network', async () => {
    const ext = await api.create('networks', 'network', {
      name: 'ext',
      'provider:network_type': 'flat',
      'provider:physical_network': 'extnet0',
      'router:external': true,
    });
    await api.create('subnets', 'subnet', { network_id: ext.id, ip_version: 4, cidr: '10.0.2.0/24', gateway_ip: '10.0.2.2', enable_dhcp: false });
    const pe = await bindPort(ext.id, 'host-a1', ns.we);
    await waitForStatus(pe.id, 'ACTIVE');
    await configure(ns.we, pe, 24);
    await ping(ns.we, '10.0.2.2');
    // The physical interface is in the network's bridge, not deleted or renamed.
    expect(await topo.exec(ns.ha1, ['ip', '-o', 'link', 'show', 'ext0'])).toMatch(/master br-/);
  });
});
