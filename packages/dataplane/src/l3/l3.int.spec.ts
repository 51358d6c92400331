import { routerInterfaceName, type RouterIntent } from '@ncp/contracts';
import { runArgv, sourceSeen, waitForDad } from '@ncp/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnNamespaces } from '../__fixtures__/netns-suite.js';
import { expectAllOk, reconcileRecorded } from '../__fixtures__/recorded.js';
import { UPSTREAM_DEFAULT_ROUTES, dualStackInterfaces } from './__fixtures__/intent.js';
import { ExecFileRunner, RecordingRunner, isReadOnlyCommand } from '../runner.js';
import { type L3Options } from './model.js';
import { renderRouterRuleset } from './nft.js';
import { L3Reconciler, reconcileL3 } from './reconcile.js';

/*
 * A router namespace between an "upstream" (the external network, 10.0.2.0/24 and
 * 2001:db8:0:1::/64) and an internal network 172.16.100.0/24 + fd00:100::/64 on a bridge in a
 * "switch" namespace with two workloads. Behind the upstream, a "prod" network 10.9.0.0/24 that
 * routes the internal subnet back without NAT (the NAT exclusion). The veths stand for what the
 * L2 driver plugs; the L3 driver under test configures the inside of the router namespace.
 *
 *   wl1 172.16.100.10 ─┐
 *                      sw(br0) ─ qr- [router] qg- ── ext 10.0.2.2 [upstream] prod ── p0 10.9.0.2 [prod]
 *   wl2 172.16.100.11 ─┘
 */

const ROUTER = 'e7a1b2c3-0000-4000-8000-000000000001';
const EMPTY_ROUTER = 'e7a1b2c4-0000-4000-8000-000000000002';
const PORT_QR = 'd3000001-0000-4000-8000-000000000001';
const PORT_QG = 'd3000002-0000-4000-8000-000000000002';
const FIP = 'f7000001-0000-4000-8000-000000000001';
const FIP2 = 'f7000001-0000-4000-8000-000000000002';
const QR = routerInterfaceName('internal', PORT_QR);
const QG = routerInterfaceName('gateway', PORT_QG);

describeOnNamespaces('L3 driver on real namespaces', ['nft', 'conntrack', 'arping', 'ping'], (topo) => {
  const routerNs = (id: string): string => `qrouter-${id.slice(0, 8)}`;
  const { ns, create } = topo.plan(
    { up: 'up', prod: 'prod', sw: 'sw', wl1: 'wl1', wl2: 'wl2', router: routerNs(ROUTER), stale: 'qrouter-deadbeef', notOurs: 'qrouter-keepme' },
    // created by the code under test
    { emptyRouter: routerNs(EMPTY_ROUTER) },
  );
  const options: L3Options = { namespacePrefix: `${topo.prefix}qrouter-` };

  const intent = (over: Partial<RouterIntent> = {}): RouterIntent => ({
    id: ROUTER,
    namespace: ns.router,
    adminStateUp: true,
    interfaces: dualStackInterfaces({ portId: PORT_QR, ifname: QR }, { portId: PORT_QG, ifname: QG }),
    routes: [...UPSTREAM_DEFAULT_ROUTES, { destination: '2001:db8:0:2::/64', nexthop: '2001:db8:0:1::2' }],
    snat: [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: [] }],
    floatingIps: [{ id: FIP, floatingIp: '10.0.2.215', fixedIp: '172.16.100.10' }],
    ...over,
  });
  const emptyRouter: RouterIntent = { id: EMPTY_ROUTER, namespace: ns.emptyRouter, adminStateUp: true, interfaces: [], routes: [], snat: [], floatingIps: [] };
  const excluded = intent({ snat: [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: ['10.9.0.0/24'] }] });

  const runner = new ExecFileRunner();
  /** Reconciles and returns the commands that were not read-backs. */
  const mutationsOf = async (intents: RouterIntent[], extra: L3Options = {}): Promise<string[]> =>
    (await reconcileRecorded((recorder) => reconcileL3(intents, recorder, { ...options, ...extra }))).mutations;
  const ping = (from: string, to: string): Promise<string> => topo.exec(from, ['ping', to.includes(':') ? '-6' : '-4', '-c', '2', '-W', '2', to]);
  const unreachable = async (from: string, to: string): Promise<void> => {
    await expect(topo.exec(from, ['ping', '-4', '-c', '1', '-W', '1', to])).rejects.toThrow(/failed/);
  };
  /** The source address a datagram from `from` to `to` arrives with (in namespace `at`); a port of its own each time. */
  let nextPort = 5000;
  const sourceAt = (from: string, at: string, to: string): Promise<string> => sourceSeen(from, at, to, ++nextPort);
  const conntrack = async (...filter: string[]): Promise<string> => (await topo.exec(ns.router, ['conntrack', '-L', ...filter])).trim();

  beforeAll(async () => {
    await create();

    // what the L2 driver would plug: the router's veth ends (up, no address) ...
    await topo.addVethPair(ns.router, QG, ns.up, 'ext');
    await topo.addVethPair(ns.router, QR, ns.sw, 'r0');
    await topo.linkUp(ns.router, QG);
    await topo.linkUp(ns.router, QR);
    // ... the internal network's bridge with the workloads
    await topo.addVethPair(ns.wl1, 'eth0', ns.sw, 'w1');
    await topo.addVethPair(ns.wl2, 'eth0', ns.sw, 'w2');
    await topo.bridge(ns.sw, 'br0', ['r0', 'w1', 'w2']);
    await topo.addVethPair(ns.up, 'prod', ns.prod, 'p0');
    await topo.linksUp([ns.up, 'ext'], [ns.up, 'prod'], [ns.prod, 'p0'], [ns.wl1, 'eth0'], [ns.wl2, 'eth0']);

    // upstream: the external subnet's gateway, routing the internal subnets back (IPv4 for the
    // NAT exclusion, IPv6 always: no NAT), and a "remote" IPv6 prefix behind it
    await topo.addAddress(ns.up, 'ext', '10.0.2.2/24');
    await topo.addAddress(ns.up, 'ext', '2001:db8:0:1::2/64');
    await topo.addAddress(ns.up, 'lo', '2001:db8:0:2::1/64');
    await topo.addAddress(ns.up, 'prod', '10.9.0.1/24');
    await topo.addRoute(ns.up, '172.16.100.0/24', '10.0.2.211');
    await topo.addRoute(ns.up, 'fd00:100::/64', '2001:db8:0:1::1');
    await topo.sysctl(ns.up, 'net.ipv4.ip_forward', '1');
    // learn neighbours from gratuitous ARP, so the test can see that it was sent
    await topo.sysctl(ns.up, 'net.ipv4.conf.ext.arp_accept', '1');
    await topo.addAddress(ns.prod, 'p0', '10.9.0.2/24');
    await topo.addRoute(ns.prod, 'default', '10.9.0.1');

    await topo.addAddress(ns.wl1, 'eth0', '172.16.100.10/24');
    await topo.addAddress(ns.wl1, 'eth0', 'fd00:100::10/64');
    await topo.addRoute(ns.wl1, 'default', '172.16.100.1');
    await topo.addRoute(ns.wl1, '::/0', 'fd00:100::1');
    await topo.addAddress(ns.wl2, 'eth0', '172.16.100.11/24');
    await topo.addRoute(ns.wl2, 'default', '172.16.100.1');
  });

  afterAll(async () => {
    await topo.destroy();
  });

  it('configures the router, creates the namespace of a router without ports and sweeps a stale one', async () => {
    const results = await reconcileL3([intent(), emptyRouter], runner, options);
    expect(results).toEqual([
      { item: `router:${ROUTER}`, ok: true },
      { item: `fip:${FIP}`, ok: true },
      { item: `router:${EMPTY_ROUTER}`, ok: true },
      { item: 'sweep', ok: true },
    ]);

    const netns = (JSON.parse(await runArgv(['ip', '-j', 'netns', 'list'])) as { name: string }[]).map((n) => n.name);
    expect(netns).toContain(ns.emptyRouter);
    expect(netns).not.toContain(ns.stale);
    expect(netns).toContain(ns.notOurs); // not <prefix><8 hex>: not ours

    expect(await topo.exec(ns.router, ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding'])).toBe('1\n1\n');
    const routes6 = await runArgv(['ip', '-N', '-n', ns.router, '-6', 'route', 'show', 'table', 'main']);
    expect(routes6).toContain(`2001:db8:0:2::/64 via 2001:db8:0:1::2 dev ${QG} proto 190`);
    expect(routes6).toContain(`default via 2001:db8:0:1::2 dev ${QG} proto 190`);
    expect(await runArgv(['ip', '-N', '-n', ns.router, 'route', 'show', 'proto', '190'])).toBe(`default via 10.0.2.2 dev ${QG} \n`);
    // the table as nft lists it back is exactly what we rendered (nft adds empty lines)
    const listed = await topo.exec(ns.router, ['nft', 'list', 'table', 'inet', 'ncp_router']);
    expect(listed.replace(/\n\n/g, '\n')).toBe(renderRouterRuleset(intent()));
    // the gratuitous ARP reached the upstream before any traffic did
    const [qg] = JSON.parse(await runArgv(['ip', '-n', ns.router, '-j', 'link', 'show', 'dev', QG])) as { address: string }[];
    const neighbours = JSON.parse(await runArgv(['ip', '-n', ns.up, '-j', 'neigh', 'show', '10.0.2.215'])) as { lladdr?: string }[];
    expect(neighbours.map((n) => n.lladdr)).toEqual([qg?.address]);
  });

  it('forwards a floating IP to its workload', async () => {
    await ping(ns.up, '10.0.2.215');
    // the upstream's own address arrives unchanged: inbound is only DNATed
    expect(await sourceAt(ns.up, ns.wl1, '10.0.2.215')).toBe('10.0.2.2');
  });

  it('sends outgoing traffic with the floating IP, or the gateway address without one', async () => {
    expect(await sourceAt(ns.wl1, ns.up, '10.0.2.2')).toBe('10.0.2.215');
    expect(await sourceAt(ns.wl2, ns.up, '10.0.2.2')).toBe('10.0.2.211');
    expect(await sourceAt(ns.wl2, ns.prod, '10.9.0.2')).toBe('10.0.2.211');
  });

  it('keeps the own source towards an excluded destination', async () => {
    expect(await mutationsOf([excluded, emptyRouter])).toEqual([`ip netns exec ${ns.router} nft -f -`]);
    expect(await sourceAt(ns.wl2, ns.prod, '10.9.0.2')).toBe('172.16.100.11');
    // everywhere else it is still translated
    expect(await sourceAt(ns.wl2, ns.up, '10.0.2.2')).toBe('10.0.2.211');
  });

  it('routes IPv6 without NAT, over the extra route', async () => {
    await waitForDad(ns.router);
    await waitForDad(ns.wl1);
    await ping(ns.wl1, '2001:db8:0:2::1');
    expect(await sourceAt(ns.wl1, ns.up, '2001:db8:0:2::1')).toBe('fd00:100::10');
  });

  it('issues no mutating command on a converged router', async () => {
    expect(await mutationsOf([excluded, emptyRouter])).toEqual([]);
  });

  it('removing the floating IP stops it answering and forgets its connections', async () => {
    // connections in both directions: to the floating IP, and from its workload (reply to it)
    await ping(ns.up, '10.0.2.215');
    expect(await sourceAt(ns.wl1, ns.up, '10.0.2.2')).toBe('10.0.2.215');
    expect(await conntrack('-d', '10.0.2.215')).not.toBe('');
    expect(await conntrack('-q', '10.0.2.215')).not.toBe('');

    const withoutFip = { ...excluded, floatingIps: [] };
    expect(await mutationsOf([withoutFip, emptyRouter])).toEqual([
      `ip -n ${ns.router} addr del 10.0.2.215/32 dev ${QG}`,
      `ip netns exec ${ns.router} nft -f -`,
      `ip netns exec ${ns.router} conntrack -D -d 10.0.2.215`,
      `ip netns exec ${ns.router} conntrack -D -q 10.0.2.215`,
    ]);
    expect(await conntrack('-d', '10.0.2.215')).toBe('');
    expect(await conntrack('-q', '10.0.2.215')).toBe('');
    await unreachable(ns.up, '10.0.2.215');
    expect(await sourceAt(ns.wl1, ns.up, '10.0.2.2')).toBe('10.0.2.211');
    expect(await mutationsOf([withoutFip, emptyRouter])).toEqual([]);
  });

  it('changes floating IPs through a reconciler that remembers without reading the namespace: the kernel holds what the steps said', async () => {
    const withoutFip = { ...excluded, floatingIps: [] };
    const second = { id: FIP2, floatingIp: '10.0.2.216', fixedIp: '172.16.100.11' };
    const recorder = new RecordingRunner(runner);
    const reconciler = new L3Reconciler(recorder, options);
    /** One pass: its commands in the router namespace, reads and others. */
    const pass = async (router: RouterIntent, resync = false) => {
      const from = recorder.calls.length;
      expectAllOk(await reconciler.reconcile([router, emptyRouter], { resync }));
      const inRouter = recorder.calls.slice(from).filter((argv) => argv.includes(ns.router));
      return { reads: inRouter.filter(isReadOnlyCommand).length, mutations: inRouter.filter((argv) => !isReadOnlyCommand(argv)).map((argv) => argv.join(' ')) };
    };
    expect(await pass(withoutFip, true)).toEqual({ reads: expect.any(Number) as number, mutations: [] });

    const both = await pass(intent({ snat: excluded.snat, floatingIps: [...intent().floatingIps, second] }));
    expect(both.reads).toBe(0);
    expect(both.mutations.filter((m) => !m.includes('arping'))).toEqual([
      `ip netns exec ${ns.router} nft -f -`,
      `ip -n ${ns.router} addr add 10.0.2.215/32 dev ${QG}`,
      `ip -n ${ns.router} addr add 10.0.2.216/32 dev ${QG}`,
    ]);
    await ping(ns.up, '10.0.2.216');
    // planned from what the last steps said: had it not known the addresses, it would add them again (and fail)
    const one = await pass(intent({ snat: excluded.snat, floatingIps: [second] }));
    expect(one).toEqual({
      reads: 0,
      mutations: [
        `ip -n ${ns.router} addr del 10.0.2.215/32 dev ${QG}`,
        `ip netns exec ${ns.router} nft -f -`,
        `ip netns exec ${ns.router} conntrack -D -d 10.0.2.215`,
        `ip netns exec ${ns.router} conntrack -D -q 10.0.2.215`,
      ],
    });
    expect((await pass(withoutFip)).mutations).toHaveLength(4);
    // a fresh read finds the kernel as the remembered read-back had it: converged
    expect(await mutationsOf([withoutFip, emptyRouter])).toEqual([]);
    expect(await pass(withoutFip, true)).toEqual({ reads: expect.any(Number) as number, mutations: [] });
  });

  it('an admin-down router stops forwarding, and comes back when up', async () => {
    const down = { ...excluded, floatingIps: [], adminStateUp: false };
    expect(await mutationsOf([down, emptyRouter])).toEqual([`ip netns exec ${ns.router} sysctl -q -w net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0`]);
    await unreachable(ns.wl1, '10.0.2.2');
    expect(await mutationsOf([down, emptyRouter])).toEqual([]);

    const up = { ...excluded, floatingIps: [] };
    expect(await mutationsOf([up, emptyRouter])).toEqual([`ip netns exec ${ns.router} sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1`]);
    await ping(ns.wl1, '10.0.2.2');
    expect(await mutationsOf([up, emptyRouter])).toEqual([]);
  });

  it('deletes the namespace of a removed router', async () => {
    expect(await mutationsOf([{ ...excluded, floatingIps: [] }])).toEqual([`ip netns del ${ns.emptyRouter}`]);
  });

  it('with an owner, sweeps only the namespaces it marked', async () => {
    const router = { ...excluded, floatingIps: [] };
    expect(await mutationsOf([router], { owner: 'host-a' })).toEqual([`ip -n ${ns.router} link set dev lo alias ncp:l3:host-a`]);
    expect(await mutationsOf([router], { owner: 'host-a' })).toEqual([]);
    // another agent on the same machine does not know this router, and leaves it alone
    expect(await mutationsOf([], { owner: 'host-b' })).toEqual([]);
    expect(await mutationsOf([], { owner: 'host-a' })).toEqual([`ip netns del ${ns.router}`]);
  });
});
