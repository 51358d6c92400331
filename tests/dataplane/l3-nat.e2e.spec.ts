import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestStack, runArgv, sourceSeen, type AgentProcess } from '@ncp/testing';
import { waitUntil } from '../support/eventually';
import { OpenstackCli } from '../support/openstack-cli';
import { Pinger } from '../support/pinger';
import { pingOnce } from '../support/probes';
import { referencePublicNetwork } from '../support/resources';
import { type NeutronClient, type PortResource, type Resource } from '../api/client';
import { routedRowsTopology, startNetAndComputeAgents, tearDownScenario, wireVeths } from '../support/stack';

/**
 * Routers, floating IPs and NAT policy end to end on the real kernel, in namespaces this
 * test creates. Routers run on net-a1 (row-a, network role, two flat provider networks to
 * an "upstream" and a "core"); workloads on cmp-b1 (row-b), across a routed spine.
 *   upstream 10.0.2.2 (ext_n2, flat extnet0) -- prod 10.200.0.2 behind it
 *   core 192.168.81.1 (Public-Net, flat extnet1)
 */
let stack: TestStack;
let api: NeutronClient;
let netAgent: AgentProcess;
let cli: OpenstackCli;
const { topo, ns, create } = routedRowsTopology(['spine', 'net', 'cmp', 'up', 'prod', 'core'], ['wa', 'wb', 'wn', 'w6a', 'w6b', 'w6c'], {
  spine: 'spine',
  hostA: 'net',
  hostB: 'cmp',
});

const openstack = (...args: string[]) => cli.run(...args);
const cliJson = (...args: string[]) => cli.json(...args);

beforeAll(async () => {
  await create();
  await wireVeths(topo, [
    [ns.net, 'ext0', ns.up, 'ext'],
    [ns.net, 'ext1', ns.core, 'ext'],
    [ns.up, 'prod', ns.prod, 'p0'],
  ]);
  // upstream: the external subnet's gateway; "prod" behind it, reached without NAT when excluded
  await topo.addAddress(ns.up, 'ext', '10.0.2.2/24');
  await topo.addAddress(ns.up, 'prod', '10.200.0.1/24');
  await topo.sysctl(ns.up, 'net.ipv4.ip_forward', '1');
  await topo.addRoute(ns.up, '172.16.100.0/24', '10.0.2.211');
  await topo.addAddress(ns.prod, 'p0', '10.200.0.2/24');
  await topo.addRoute(ns.prod, 'default', '10.200.0.1');
  await topo.addAddress(ns.core, 'ext', '192.168.81.1/26');

  ({ stack, api, netAgent } = await startNetAndComputeAgents({}, { hostNetns: ns.net, physnets: { extnet0: 'ext0', extnet1: 'ext1' } }, { hostNetns: ns.cmp }));
  cli = await OpenstackCli.create(stack.url);
}, 180_000);

afterAll(() => tearDownScenario(stack, topo, cli));

/** Polls until `read` gives `expected`; the failure shows the network agent's log. */
async function waitFor<T>(what: string, read: () => Promise<T>, expected: T, timeoutMs = 40_000): Promise<void> {
  await waitUntil(what, read, (value) => JSON.stringify(value) === JSON.stringify(expected), {
    timeoutMs,
    context: () => `expected ${JSON.stringify(expected)}\nagent:\n${netAgent.logs().slice(-4000)}`,
  });
}

async function plugWorkload(netns: string, network: string, fixedIps: unknown, gateways: { v4?: string; v6?: string }, prefix4 = 24): Promise<PortResource> {
  const port = await api.create<PortResource>('ports', 'port', {
    network_id: network,
    'binding:host_id': 'cmp-b1',
    'binding:profile': { netns },
    ...(fixedIps === undefined ? {} : { fixed_ips: fixedIps }),
  });
  await waitFor(`port ${port.id}`, () => api.status('ports', 'port', port.id), 'ACTIVE');
  for (const f of port.fixed_ips) {
    const v6 = f.ip_address.includes(':');
    await topo.exec(netns, ['ip', 'addr', 'add', `${f.ip_address}/${v6 ? 64 : prefix4}`, 'dev', 'eth0', ...(v6 ? ['nodad'] : [])]);
  }
  if (gateways.v4) await topo.exec(netns, ['ip', 'route', 'add', 'default', 'via', gateways.v4]);
  if (gateways.v6) await topo.exec(netns, ['ip', '-6', 'route', 'add', 'default', 'via', gateways.v6]);
  return port;
}

const ping = (netns: string, address: string) => topo.exec(netns, ['ping', '-c', '2', '-W', '2', ...(address.includes(':') ? ['-6'] : []), address], 30_000);

/** The source address a datagram from `from` carries when it reaches `to`. */
const sourceAt = (from: string, to: string, address: string): Promise<string> => sourceSeen(from, to, address, 7777);

describe('floating IPs and SNAT (openstack CLI)', () => {
  let router: { id: string };
  let wa: PortResource;

  it('builds the router and a floating IP with the CLI, and the upstream reaches the workload through it', async () => {
    await openstack('network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'extnet0', 'ext_n2');
    await openstack(
      'subnet',
      'create',
      '--network',
      'ext_n2',
      '--subnet-range',
      '10.0.2.0/24',
      '--gateway',
      '10.0.2.2',
      '--no-dhcp',
      '--allocation-pool',
      'start=10.0.2.210,end=10.0.2.220',
      'ext_sub',
    );
    const tenant = await cliJson('network', 'create', 'tenant');
    // The workloads' default group lets in only its own members: pings from outside (the
    // upstream through the floating IP, the core) need a rule, as any user would add it.
    await openstack('security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', 'default');
    await openstack('subnet', 'create', '--network', 'tenant', '--subnet-range', '172.16.100.0/24', 'tenant_sub');
    router = await cliJson('router', 'create', 'r1');
    // Pinned at .211 (our IPAM hands out the lowest free address, .210, by default).
    await openstack('router', 'set', '--external-gateway', 'ext_n2', '--fixed-ip', 'subnet=ext_sub,ip-address=10.0.2.211', 'r1');
    await openstack('router', 'add', 'subnet', 'r1', 'tenant_sub');
    const shown = await cliJson('router', 'show', 'r1');
    expect(JSON.stringify(shown.external_gateway_info)).toContain('10.0.2.211');

    wa = await plugWorkload(ns.wa, tenant.id, [{ ip_address: '172.16.100.10' }], { v4: '172.16.100.1' });
    await plugWorkload(ns.wb, tenant.id, [{ ip_address: '172.16.100.11' }], { v4: '172.16.100.1' });
    const fip = await cliJson('floating', 'ip', 'create', '--floating-ip-address', '10.0.2.215', 'ext_n2');
    await openstack('floating', 'ip', 'set', '--port', wa.id, '10.0.2.215');
    await waitFor('router status', () => api.status('routers', 'router', router.id), 'ACTIVE');
    await waitFor('floating IP status', () => api.status('floatingips', 'floatingip', fip.id), 'ACTIVE');
    const agents = (await api.get<{ agents: { host: string }[] }>(`/v2.0/routers/${router.id}/l3-agents`)).body.agents;
    expect(agents.map((a) => a.host)).toEqual(['net-a1']);

    await ping(ns.up, '10.0.2.215');
    expect(await sourceAt(ns.wa, ns.up, '10.0.2.2')).toBe('10.0.2.215');
    expect(await sourceAt(ns.wb, ns.up, '10.0.2.2')).toBe('10.0.2.211');
  });

  it("keeps the workload's own address towards a NAT exclusion, SNATs the rest", async () => {
    const r = await api.put(`/v2.0/routers/${router.id}`, { router: { nat_exclusions: ['10.200.0.0/24'] } });
    expect(r.status).toBe(200);
    await waitFor('source at prod', () => sourceAt(ns.wb, ns.prod, '10.200.0.2'), '172.16.100.11', 20_000);
    expect(await sourceAt(ns.wb, ns.up, '10.0.2.2')).toBe('10.0.2.211');
  });

  it("keeps forwarding while the router's agent is killed and restarted, without duplicating rules", async () => {
    const routerNs = `qrouter-${router.id.replace(/-/g, '').slice(0, 8)}`;
    const rules = () => runArgv(['ip', 'netns', 'exec', routerNs, 'nft', 'list', 'table', 'inet', 'ncp_router']);
    const rulesBefore = await rules();
    const pinger = Pinger.start(ns.up, '10.0.2.215');
    await pinger.moreReplies(5);
    await netAgent.kill('SIGKILL');
    // forwarding goes on with the agent dead (3 s of pings)...
    await pinger.moreReplies(15);
    netAgent.start();
    await stack.waitForAgent('net-a1', true);
    // ...and once it is back and has reconciled the router again
    await pinger.moreReplies(15);
    const { sent, received, output } = await pinger.stop();
    console.log(`ping to the floating IP across the agent restart: ${String(sent)} sent, ${String(received)} received`);
    expect(sent, output).toBeGreaterThan(20);
    expect(received, output).toBe(sent);
    expect(await rules()).toBe(rulesBefore);
  });

  it('stops answering on the floating IP once it is disassociated', async () => {
    await openstack('floating', 'ip', 'unset', '--port', '10.0.2.215');
    await waitFor('floating IP answers', () => pingOnce(topo, ns.up, '10.0.2.215'), 'silent', 20_000);
    expect(await sourceAt(ns.wa, ns.up, '10.0.2.2')).toBe('10.0.2.211');
  });
});

describe('no NAT within an address scope', () => {
  it('routes the tenant subnet of the reference scenario with its own addresses', async () => {
    const { pool, network: pub } = await referencePublicNetwork(api, 4, 'extnet1', { prefixes: ['192.168.81.0/24'], default_prefixlen: 26 });
    const net = await api.create('networks', 'network', { name: 'nonat-net-1' });
    const subnet = await api.create('subnets', 'subnet', { name: 'nonat-subnet-1', network_id: net.id, ip_version: 4, subnetpool_id: pool.id });
    const router = await api.create<Resource & { external_gateway_info: { external_fixed_ips: { ip_address: string }[] } }>('routers', 'router', {
      name: 'r2',
      external_gateway_info: { network_id: pub.id },
    });
    const gatewayIp = router.external_gateway_info.external_fixed_ips[0]?.ip_address ?? '';
    expect(gatewayIp).toBe('192.168.81.2');
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const wn = await plugWorkload(ns.wn, net.id, undefined, { v4: '192.168.81.65' }, 26);
    await waitFor('router status', () => api.status('routers', 'router', router.id), 'ACTIVE');
    // The core router learns the tenant prefix (statically here; BGP announces it later).
    await topo.exec(ns.core, ['ip', 'route', 'add', '192.168.81.64/26', 'via', gatewayIp]);
    const own = wn.fixed_ips[0]?.ip_address ?? '';
    await waitFor('core reaches the workload at its own address', () => pingOnce(topo, ns.core, own), 'answers', 20_000);
    expect(await sourceAt(ns.wn, ns.core, '192.168.81.1')).toBe(own);
  });
});

describe('IPv6', () => {
  it('routes between two IPv6 subnets without NAT and honours an extra route', async () => {
    const n1 = await api.create('networks', 'network', { name: 'v6-1' });
    const s1 = await api.create('subnets', 'subnet', { network_id: n1.id, ip_version: 6, cidr: '2001:db8:0:1::/64', ipv6_address_mode: 'slaac' });
    const n3 = await api.create('networks', 'network', { name: 'v6-3' });
    const s3 = await api.create('subnets', 'subnet', { network_id: n3.id, ip_version: 6, cidr: '2001:db8:0:3::/64', ipv6_address_mode: 'slaac' });
    const router = await api.create('routers', 'router', { name: 'r3' });
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: s1.id });
    await api.put(`/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: s3.id });
    const a = await plugWorkload(ns.w6a, n1.id, undefined, { v6: '2001:db8:0:1::1' });
    const b = await plugWorkload(ns.w6b, n3.id, undefined, { v6: '2001:db8:0:3::1' });
    const c = await plugWorkload(ns.w6c, n1.id, undefined, { v6: '2001:db8:0:1::1' });
    const cAddress = c.fixed_ips[0]?.ip_address ?? '';
    // c also owns 2001:db8:0:2::/64, which the router reaches through c (an extra route); its
    // port may send from it (an allowed address pair), or anti-spoofing drops c's answers.
    await topo.exec(ns.w6c, ['ip', 'addr', 'add', '2001:db8:0:2::1/64', 'dev', 'eth0', 'nodad']);
    expect((await api.put(`/v2.0/ports/${c.id}`, { port: { allowed_address_pairs: [{ ip_address: '2001:db8:0:2::/64' }] } })).status).toBe(200);
    const r = await api.put<{ router: { routes: unknown[] } }>(`/v2.0/routers/${router.id}`, {
      router: { routes: [{ destination: '2001:db8:0:2::/64', nexthop: cAddress }] },
    });
    expect(r.body.router.routes).toEqual([{ destination: '2001:db8:0:2::/64', nexthop: cAddress }]);
    await waitFor('router status', () => api.status('routers', 'router', router.id), 'ACTIVE');
    const bAddress = b.fixed_ips[0]?.ip_address ?? '';
    await waitFor('a reaches b', () => pingOnce(topo, ns.w6a, bAddress), 'answers', 20_000);
    expect(await sourceAt(ns.w6a, ns.w6b, bAddress)).toBe(a.fixed_ips[0]?.ip_address);
    await waitFor('b reaches the extra route', () => pingOnce(topo, ns.w6b, '2001:db8:0:2::1'), 'answers', 20_000);
  });
});
