import { type RouterIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { RecordingRunner, isReadOnlyCommand } from '../runner.js';
import { FakeRouterKernel } from './__fixtures__/fake-router-kernel.js';
import { F1, F2, NS1, NS2, QG, QR, R1, R2, router1, router2 } from './__fixtures__/intent.js';
import { applyL3 } from './apply.js';
import { L3Reconciler, reconcileL3 } from './reconcile.js';

const mutating = (calls: readonly (readonly string[])[]): string[] => calls.filter((c) => !isReadOnlyCommand(c)).map((c) => c.join(' '));
// In intent order: router 1 lists F2 before F1.
const allOk = [`router:${R1}`, `fip:${F2}`, `fip:${F1}`, `router:${R2}`, 'sweep'].map((item) => ({ item, ok: true }));

/** A host where the L2 driver has plugged router 1's two ports. */
function pluggedKernel(): FakeRouterKernel {
  const kernel = new FakeRouterKernel();
  kernel.plug(NS1, QR);
  kernel.plug(NS1, QG);
  return kernel;
}

describe('reconcileL3 against an in-memory kernel', () => {
  it('converges in one pass and then issues no mutating command', async () => {
    const kernel = pluggedKernel();
    expect(await reconcileL3([router1, router2], kernel)).toEqual(allOk);
    const ns = kernel.ns(NS1);
    expect(ns.sysctl.get('net.ipv4.ip_forward')).toBe('1');
    expect(ns.links.get(QG)?.addrs.map((a) => `${a.local}/${a.prefixlen}`)).toEqual([
      'fe80::2/64',
      '10.0.2.211/24',
      '2001:db8:0:1::1/64',
      '10.0.2.215/32',
      '10.0.2.216/32',
    ]);
    expect(ns.table).toContain('ip daddr 10.0.2.215 dnat ip to 172.16.100.10');
    expect(kernel.namespaces.has(NS2)).toBe(true);

    const recorder = new RecordingRunner(kernel);
    expect(await reconcileL3([router1, router2], recorder)).toEqual(allOk);
    expect(recorder.mutatingCalls()).toEqual([]);
    expect(recorder.calls.length).toBeGreaterThan(0);
  });

  it("sends a router's consecutive ip commands to one process", async () => {
    const kernel = pluggedKernel();
    expect(await reconcileL3([router1, router2], kernel)).toEqual(allOk);
    const processes = mutating(kernel.processes);
    expect(processes.filter((p) => p === `ip -n ${NS1} -batch -`)).toHaveLength(1);
    // the same commands as one by one, in fewer processes
    expect(mutating(kernel.calls).length - processes.length).toBeGreaterThanOrEqual(6);
  });

  it('counts "0 flow entries have been deleted" as success and flushes what is there', async () => {
    const kernel = pluggedKernel();
    await reconcileL3([router1, router2], kernel);
    const ns = kernel.ns(NS1);
    ns.conntrack.push(
      { dst: '10.0.2.216', replyDst: '10.0.0.9' },
      { dst: '172.16.100.99', replyDst: '10.0.2.216' },
      { dst: '10.0.2.215', replyDst: '10.0.0.9' },
    );
    const without: RouterIntent = { ...router1, floatingIps: router1.floatingIps.filter((f) => f.id !== F2) };
    const before = kernel.calls.length;
    expect(await reconcileL3([without, router2], kernel)).toEqual(allOk.filter((r) => r.item !== `fip:${F2}`));
    expect(mutating(kernel.calls.slice(before))).toEqual([
      `ip -n ${NS1} addr del 10.0.2.216/32 dev ${QG}`,
      `ip netns exec ${NS1} nft -f -`,
      `ip netns exec ${NS1} conntrack -D -d 10.0.2.216`,
      `ip netns exec ${NS1} conntrack -D -q 10.0.2.216`,
    ]);
    expect(ns.conntrack).toEqual([{ dst: '10.0.2.215', replyDst: '10.0.0.9' }]);
  });

  it('keeps going when one item fails, reports the floating IPs of a failed router, and finishes later', async () => {
    const kernel = pluggedKernel();
    const broken = `ip -n ${NS1} route replace 0.0.0.0/0 via 10.0.2.2 proto 190`;
    kernel.failOn.add(broken);
    const first = await reconcileL3([router1, router2], kernel);
    expect(first.filter((r) => !r.ok).map((r) => r.item)).toEqual([`router:${R1}`, `fip:${F2}`, `fip:${F1}`]);
    // the step failed within its namespace's batch: the error names the step, then what the tool said
    expect(first[0]).toEqual({ item: `router:${R1}`, ok: false, error: `route to 0.0.0.0/0 is missing: \`${broken}\` failed: ${broken}: injected failure` });
    expect(first[1]).toMatchObject({ ok: false, error: expect.stringMatching(new RegExp(`^router:${R1} failed: `)) as unknown });
    // the floating IPs' own steps ran; the router's NAT table (after the failed step) did not
    expect(
      kernel
        .ns(NS1)
        .links.get(QG)
        ?.addrs.some((a) => a.local === '10.0.2.215'),
    ).toBe(true);
    expect(kernel.ns(NS1).table).toBeNull();

    kernel.failOn.clear();
    const before = kernel.calls.length;
    expect(await reconcileL3([router1, router2], kernel)).toEqual(allOk);
    expect(mutating(kernel.calls.slice(before))).toEqual([
      broken,
      `ip -n ${NS1} route replace 10.50.0.0/16 via 172.16.100.254 proto 190`,
      `ip -n ${NS1} route replace ::/0 via 2001:db8:0:1::2 proto 190`,
      `ip -n ${NS1} route replace 2001:db8:0:2::/64 via 2001:db8:0:1::2 proto 190`,
      `ip netns exec ${NS1} nft -f -`,
    ]);
  });

  it('reports a router whose ports are not plugged, and converges once they are', async () => {
    const kernel = new FakeRouterKernel();
    const first = await reconcileL3([router1], kernel);
    expect(first).toEqual([
      { item: `router:${R1}`, ok: false, error: `interface ${QG} not plugged yet; interface ${QR} not plugged yet` },
      { item: `fip:${F2}`, ok: false, error: `gateway interface ${QG} not plugged yet` },
      { item: `fip:${F1}`, ok: false, error: `gateway interface ${QG} not plugged yet` },
      { item: 'sweep', ok: true },
    ]);
    // the namespace was created (the L2 driver plugs into it)
    expect(kernel.namespaces.has(NS1)).toBe(true);
    kernel.plug(NS1, QR);
    kernel.plug(NS1, QG);
    expect((await reconcileL3([router1], kernel)).every((r) => r.ok)).toBe(true);
    const recorder = new RecordingRunner(kernel);
    await reconcileL3([router1], recorder);
    expect(recorder.mutatingCalls()).toEqual([]);
  });

  it('sweeps the namespace of a removed router', async () => {
    const kernel = pluggedKernel();
    await reconcileL3([router1, router2], kernel);
    const before = kernel.calls.length;
    expect(await reconcileL3([router1], kernel)).toEqual(allOk.filter((r) => r.item !== `router:${R2}`));
    expect(mutating(kernel.calls.slice(before))).toEqual([`ip netns del ${NS2}`]);
  });

  it("with owners, two agents sharing the namespaces never sweep each other's routers", async () => {
    const kernel = pluggedKernel();
    const hostA = { owner: 'host-a' };
    const hostB = { owner: 'host-b' };
    expect((await reconcileL3([router1], kernel, hostA)).every((r) => r.ok)).toBe(true);
    expect((await reconcileL3([router2], kernel, hostB)).every((r) => r.ok)).toBe(true);
    const recorder = new RecordingRunner(kernel);
    await reconcileL3([router1], recorder, hostA);
    await reconcileL3([router2], recorder, hostB);
    expect(recorder.mutatingCalls()).toEqual([]);
    // host B's router goes away: only host B deletes its namespace
    const before = kernel.calls.length;
    await reconcileL3([router1], kernel, hostA);
    await reconcileL3([], kernel, hostB);
    expect(mutating(kernel.calls.slice(before))).toEqual([`ip netns del ${NS2}`]);
  });

  it('sends the gratuitous ARP in the background: its failure does not fail the floating IP', async () => {
    const kernel = pluggedKernel();
    kernel.failOn.add(`ip netns exec ${NS1} arping -U -c 1 -I ${QG} 10.0.2.215`);
    const result = await reconcileL3([router1], kernel);
    expect(result.find((r) => r.item === `fip:${F1}`)).toEqual({ item: `fip:${F1}`, ok: true });
    expect(kernel.calls.map((c) => c.join(' '))).toContain(`ip netns exec ${NS1} arping -U -c 1 -I ${QG} 10.0.2.215`);
  });

  it('reports every item when the namespaces cannot be listed, and changes nothing', async () => {
    const kernel = new FakeRouterKernel();
    kernel.failOn.add('ip -j netns list');
    const result = await reconcileL3([router1, router2], kernel);
    expect(result).toHaveLength(5);
    expect(result.every((r) => !r.ok && /reading the router namespaces failed/.test(r.error))).toBe(true);
    expect(mutating(kernel.calls)).toEqual([]);
  });
});

describe('L3Reconciler: a pass reads back only the router namespaces it has a reason to', () => {
  /** The namespaces the reads since `from` named. */
  const namespacesIn = (kernel: FakeRouterKernel, from: number): string[] =>
    [NS1, NS2].filter((ns) => kernel.calls.slice(from).some((argv) => isReadOnlyCommand(argv) && argv.includes(ns)));
  const pass = async (
    reconciler: L3Reconciler,
    kernel: FakeRouterKernel,
    intents: RouterIntent[],
    resync = false,
    changedElsewhere: ReadonlySet<string> | 'all' = new Set<string>(),
  ) => {
    const from = kernel.calls.length;
    const results = await reconciler.reconcile(intents, { resync, changedElsewhere });
    return { results, read: namespacesIn(kernel, from), mutating: mutating(kernel.calls.slice(from)) };
  };

  it('reads a namespace again when its router changed or the last pass changed it, and every one at a resync', async () => {
    const kernel = pluggedKernel();
    const reconciler = new L3Reconciler(kernel);
    expect((await pass(reconciler, kernel, [router1, router2], true)).results).toEqual(allOk);
    // both were changed by the first pass: read again, and found converged
    expect(await pass(reconciler, kernel, [router1, router2])).toEqual({ results: allOk, read: [NS1, NS2], mutating: [] });
    // nothing changed, nothing touched: no process enters either namespace
    expect(await pass(reconciler, kernel, [router1, router2])).toEqual({ results: allOk, read: [], mutating: [] });
    // the L2 driver plugged router 2's namespace again: read, and nothing else
    expect(await pass(reconciler, kernel, [router1, router2], false, new Set([NS2]))).toEqual({ results: allOk, read: [NS2], mutating: [] });
    // it cannot tell what it changed: every namespace is read
    expect(await pass(reconciler, kernel, [router1, router2], false, 'all')).toEqual({ results: allOk, read: [NS1, NS2], mutating: [] });

    // one floating IP less on router 1: its steps say what they do, so nothing is read, before or after
    const oneFip: RouterIntent = { ...router1, floatingIps: router1.floatingIps.filter((f) => f.id === F1) };
    const changed = await pass(reconciler, kernel, [oneFip, router2]);
    expect(changed.results.every((r) => r.ok)).toBe(true);
    expect(changed.read).toEqual([]);
    expect(changed.mutating).toContain(`ip -n ${NS1} addr del 10.0.2.216/32 dev ${QG}`);
    expect(await pass(reconciler, kernel, [oneFip, router2])).toEqual({ results: changed.results, read: [], mutating: [] });
    // a change beyond the floating IPs (a route more) reads the namespace, and the pass after it too
    const moreRoutes: RouterIntent = { ...oneFip, routes: [...oneFip.routes, { destination: '10.60.0.0/16', nexthop: '172.16.100.254' }] };
    const rerouted = await pass(reconciler, kernel, [moreRoutes, router2]);
    expect(rerouted.read).toEqual([NS1]);
    expect(rerouted.mutating).toEqual([`ip -n ${NS1} route replace 10.60.0.0/16 via 172.16.100.254 proto 190`]);
    expect((await pass(reconciler, kernel, [moreRoutes, router2])).read).toEqual([NS1]);
    expect((await pass(reconciler, kernel, [moreRoutes, router2])).read).toEqual([]);

    // what someone else did is found at the resync: the NAT table deleted by hand
    kernel.ns(NS1).table = null;
    expect((await pass(reconciler, kernel, [moreRoutes, router2])).mutating).toEqual([]);
    const resync = await pass(reconciler, kernel, [moreRoutes, router2], true);
    expect(resync.read).toEqual([NS1, NS2]);
    expect(resync.mutating).toEqual([`ip netns exec ${NS1} nft -f -`]);
  });

  it('with a resync slice, queues the namespaces at a resync and reads them a slice per periodic pass, or every fourth change pass', async () => {
    const kernel = pluggedKernel();
    const reconciler = new L3Reconciler(kernel, {}, undefined, { resyncSlice: 1 });
    const both = [router1, router2];
    const run = async (kind: { resync: boolean; periodic?: boolean }) => {
      const from = kernel.calls.length;
      expect((await reconciler.reconcile(both, kind)).every((r) => r.ok)).toBe(true);
      return { read: namespacesIn(kernel, from), mutating: mutating(kernel.calls.slice(from)) };
    };
    await run({ resync: true });
    expect(reconciler.resyncing).toBe(false);
    await run({ resync: false });
    expect((await run({ resync: false, periodic: true })).read).toEqual([]);

    // someone deletes router 1's NAT table; the resync reads nothing itself, it queues both
    kernel.ns(NS1).table = null;
    expect(await run({ resync: true })).toEqual({ read: [], mutating: [] });
    expect(reconciler.resyncing).toBe(true);
    const repaired = await run({ resync: false, periodic: true });
    expect(repaired.read).toEqual([NS1]);
    expect(repaired.mutating).toEqual([`ip netns exec ${NS1} nft -f -`]);
    // change passes: the fourth takes the next slice (the table the last one made is known from its step)
    const reads: string[][] = [];
    for (let i = 0; i < 4; i++) reads.push((await run({ resync: false })).read);
    expect(reads).toEqual([[], [], [], [NS2]]);
    expect(reconciler.resyncing).toBe(false);
  });

  it('says which namespaces a pass changed: new, changed or gone routers, commands, failed items', async () => {
    const kernel = pluggedKernel();
    const reconciler = new L3Reconciler(kernel);
    const changed = async (intents: RouterIntent[], changedElsewhere: ReadonlySet<string> | 'all' = new Set<string>()) => {
      await reconciler.reconcile(intents, { resync: false, changedElsewhere });
      return reconciler.changedNamespaces === undefined ? undefined : [...reconciler.changedNamespaces].sort();
    };
    expect(reconciler.changedNamespaces).toBeUndefined();
    expect(await changed([router1, router2])).toEqual([NS1, NS2].sort());
    // read again and converged: nothing changed, whatever L2 did
    expect(await changed([router1, router2], 'all')).toEqual([]);
    // a floating IP less: its address and the NAT table are nothing the drivers after L3 build on
    const oneFip: RouterIntent = { ...router1, floatingIps: router1.floatingIps.filter((f) => f.id === F1) };
    expect(await changed([oneFip, router2])).toEqual([]);
    expect(
      kernel
        .ns(NS1)
        .links.get(QG)
        ?.addrs.map((a) => a.local),
    ).not.toContain('10.0.2.216');
    // the router changed otherwise (its routes): changed, and so is the pass back
    const noRoutes: RouterIntent = { ...oneFip, routes: [] };
    expect(await changed([noRoutes, router2])).toEqual([NS1]);
    expect(await changed([oneFip, router2])).toEqual([NS1]);
    expect(await changed([oneFip, router2])).toEqual([]);
    // a router gone: its namespace is swept
    expect(await changed([oneFip])).toEqual([NS2]);
    const broken = `ip -n ${NS1} route replace 0.0.0.0/0 via 10.0.2.2 proto 190`;
    kernel.ns(NS1).routes = kernel.ns(NS1).routes.filter((r) => r.protocol !== '190');
    kernel.failOn.add(broken);
    expect(await changed([oneFip], new Set([NS1]))).toEqual([NS1]);
    // the failed item is still failing: its namespace counts as changed again
    expect(await changed([oneFip])).toEqual([NS1]);
    kernel.failOn.clear();
    expect(await changed([oneFip])).toEqual([NS1]);
    expect(await changed([oneFip])).toEqual([]);

    // a router whose ports L2 has not plugged yet fails without a command: still changed
    const bare = new FakeRouterKernel();
    const waiting = new L3Reconciler(bare);
    await waiting.reconcile([router1], { resync: false });
    const from = bare.calls.length;
    await waiting.reconcile([router1], { resync: false });
    expect(mutating(bare.calls.slice(from))).toEqual([]);
    expect([...(waiting.changedNamespaces ?? [])]).toEqual([NS1]);
  });

  it('reads again the namespace of a failed item, and makes again one deleted by hand', async () => {
    const kernel = pluggedKernel();
    const reconciler = new L3Reconciler(kernel);
    const broken = `ip -n ${NS1} route replace 0.0.0.0/0 via 10.0.2.2 proto 190`;
    kernel.failOn.add(broken);
    await pass(reconciler, kernel, [router1, router2], true);
    kernel.failOn.clear();
    // router 1 failed: it is read and finished; router 2 was created last pass and is read once more
    const retry = await pass(reconciler, kernel, [router1, router2]);
    expect(retry.results).toEqual(allOk);
    expect(retry.mutating).toContain(broken);
    await pass(reconciler, kernel, [router1, router2]);
    expect((await pass(reconciler, kernel, [router1, router2])).read).toEqual([]);

    // a namespace deleted by hand is missing from the namespace list (read every pass): made again
    kernel.namespaces.delete(NS2);
    expect((await pass(reconciler, kernel, [router1, router2])).mutating).toContain(`ip netns add ${NS2}`);
  });
});

describe('applyL3', () => {
  it('tolerates conntrack with nothing to delete, but not other conntrack failures', async () => {
    const kernel = new FakeRouterKernel();
    kernel.addNs('ns1');
    const results = await applyL3(
      [
        { item: 'router:a', argv: ['ip', 'netns', 'exec', 'ns1', 'conntrack', '-D', '-d', '10.0.0.1'], why: 'one', tolerate: 'no-flow-entries' },
        { item: 'router:b', argv: ['ip', 'netns', 'exec', 'nope', 'conntrack', '-D', '-d', '10.0.0.1'], why: 'two', tolerate: 'no-flow-entries' },
        { item: 'router:a', argv: ['ip', 'netns', 'add', 'ns2'], why: 'three' },
      ],
      kernel,
    );
    expect(results).toEqual([
      { item: 'router:a', ok: true, applied: 2, warnings: [] },
      {
        item: 'router:b',
        ok: false,
        applied: 0,
        warnings: [],
        error: 'two: Cannot open network namespace "nope": No such file or directory',
        failedStep: { item: 'router:b', argv: ['ip', 'netns', 'exec', 'nope', 'conntrack', '-D', '-d', '10.0.0.1'], why: 'two', tolerate: 'no-flow-entries' },
      },
    ]);
  });

  it('passes a step input to the runner as stdin', async () => {
    const kernel = new FakeRouterKernel();
    kernel.addNs('ns1');
    const script = 'table inet ncp_router {}\ndelete table inet ncp_router\ntable inet ncp_router {\n}\n';
    await applyL3([{ item: 'router:a', argv: ['ip', 'netns', 'exec', 'ns1', 'nft', '-f', '-'], why: 'nat', input: script }], kernel);
    expect([...kernel.inputs.values()]).toEqual([script]);
  });
});
