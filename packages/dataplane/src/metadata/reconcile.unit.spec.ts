import { describe, expect, it } from 'vitest';
import { RecordingRunner } from '../runner.js';
import { expectStillRunning, withDaemonRunning } from '../dhcp/__fixtures__/fake-host.js';
import { FakeMetadataMachine } from './__fixtures__/fake-host.js';
import { DHCP_NS, NETWORK, NODE, NS, QR1, QR2, QR3, ROUTER, SCRIPT, SOCKET, STATE, dhcp1, router1, vm1, vm2 } from './__fixtures__/intent.js';
import { type MetadataProxyConfig } from './model.js';
import { type ObservedAddress, type ObservedRouterLink } from '../l3/observed.js';
import { forgetSettledIn, type SettledDaemons } from '../daemon/settled.js';
import { type MetadataOptions, isMetadataReadOnlyCommand, planMetadataAddresses, reconcileMetadata } from './reconcile.js';

const DIR = `${STATE}/metadata/${ROUTER}`;
const START = `ip netns exec ${NS} ${NODE} ${SCRIPT} --config=${DIR}/config.json --pid-file=${DIR}/pid --socket=${SOCKET} --log-file=${DIR}/proxy.log --daemon`;
const allOk = [
  { item: `metadata:${ROUTER}`, ok: true },
  { item: 'sweep', ok: true },
];

/** A host where the L3 driver made the router's namespace and the L2 driver plugged two of its three ports. */
function routerHost(): { machine: FakeMetadataMachine; options: MetadataOptions } {
  const machine = new FakeMetadataMachine();
  machine.addNamespace(NS, QR1, QR2);
  return { machine, options: { stateDir: STATE, namespaces: [NS, DHCP_NS], forwardSocket: SOCKET, host: machine, proxyCommand: [NODE, SCRIPT] } };
}

const pid = (m: FakeMetadataMachine, file = `${DIR}/pid`): number => Number(m.files.get(file));
/** {@link routerHost} with router1's proxy already running. */
const proxyRunning = () => withDaemonRunning(routerHost, (m, options) => reconcileMetadata([router1], m, options), `${DIR}/pid`);
const mutations = (r: RecordingRunner): string[] => r.calls.filter((c) => !isMetadataReadOnlyCommand(c)).map((c) => c.join(' '));
const config = (m: FakeMetadataMachine, dir = DIR): MetadataProxyConfig => JSON.parse(m.files.get(`${dir}/config.json`) ?? 'null') as MetadataProxyConfig;

describe('reconcileMetadata against an in-memory machine', () => {
  it('adds the metadata addresses, writes the endpoints, starts the proxy; then does nothing', async () => {
    const { machine: m, options } = routerHost();
    const first = new RecordingRunner(m);
    expect(await reconcileMetadata([router1], first, options)).toEqual(allOk);
    expect(mutations(first)).toEqual([
      `ip -n ${NS} link set dev lo up`,
      `ip -n ${NS} addr add 169.254.169.254/32 dev lo`,
      `ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${QR1} nodad preferred_lft 0`,
      `ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${QR2} nodad preferred_lft 0`,
      START,
    ]);
    expect(config(m)).toEqual({ endpoints: router1.endpoints });
    expect(m.processes.get(pid(m))).toEqual([
      NODE,
      SCRIPT,
      `--config=${DIR}/config.json`,
      `--pid-file=${DIR}/pid`,
      `--socket=${SOCKET}`,
      `--log-file=${DIR}/proxy.log`,
    ]);

    // a restarted agent: same intent, nothing remembered but the state directory
    const started = pid(m);
    const second = new RecordingRunner(m);
    expect(await reconcileMetadata([router1], second, options)).toEqual(allOk);
    expect(mutations(second)).toEqual([]);
    expect(second.calls.map((c) => c.join(' '))).toContain(`ip netns identify ${started}`);
    expectStillRunning(m, `${DIR}/pid`, started);
  });

  it('a changed endpoint list only rewrites the config (the proxy re-reads it); a new interface gets its address', async () => {
    const { machine: m, options, started } = await proxyRunning();
    m.plug(NS, router1.interfaces[2] ?? '');
    const recorder = new RecordingRunner(m);
    expect(await reconcileMetadata([{ ...router1, endpoints: [vm1] }], recorder, options)).toEqual(allOk);
    expect(mutations(recorder)).toEqual([`ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${router1.interfaces[2] ?? ''} nodad preferred_lft 0`]);
    expect(config(m)).toEqual({ endpoints: [vm1] });
    expectStillRunning(m, `${DIR}/pid`, started);
  });

  it('restarts the proxy when its command line changes, or when its namespace was deleted and made again', async () => {
    const { machine: m, options, started: first } = await proxyRunning();
    const moved = new RecordingRunner(m);
    const otherSocket = `${STATE}/other.sock`;
    expect(await reconcileMetadata([router1], moved, { ...options, forwardSocket: otherSocket })).toEqual(allOk);
    expect(m.signals).toEqual([`SIGTERM ${first} ${NODE}`]);
    expect(mutations(moved)).toEqual([START.replace(SOCKET, otherSocket)]);

    const second = pid(m);
    m.namespaces.delete(NS); // the proxy lives on in the deleted namespace ...
    m.addNamespace(NS); // ... and the L3 driver makes a new one
    m.plug(NS, QR1);
    const recreated = new RecordingRunner(m);
    expect(await reconcileMetadata([router1], recreated, { ...options, forwardSocket: otherSocket })).toEqual(allOk);
    expect(m.signals).toEqual([`SIGTERM ${first} ${NODE}`, `SIGTERM ${second} ${NODE}`]);
    expect(mutations(recreated).at(-1)).toBe(START.replace(SOCKET, otherSocket));
    expect(mutations(recreated)).toContain(`ip -n ${NS} addr add 169.254.169.254/32 dev lo`);
  });

  it('never signals a process that reuses a stale pid: it starts a new proxy instead', async () => {
    const { machine: m, options } = await proxyRunning();
    m.processes.delete(pid(m)); // the proxy died (or the machine rebooted) ...
    const stranger = m.spawnForeign([NODE, '/srv/app/proxy-main.js', '--pid-file=/srv/app/pid']);
    m.files.set(`${DIR}/pid`, `${stranger}\n`); // ... and its pid went to another node program
    const recorder = new RecordingRunner(m);
    expect(await reconcileMetadata([router1], recorder, options)).toEqual(allOk);
    expect(m.signals).toEqual([]);
    expect(m.processes.has(stranger)).toBe(true);
    expect(mutations(recorder)).toEqual([START]);
  });

  it('fails an item whose namespace is missing and stops the proxy it had; keeps its state for the retry', async () => {
    const { machine: m, options, started } = await proxyRunning();
    m.namespaces.delete(NS);
    expect(await reconcileMetadata([router1, dhcp1], m, options)).toEqual([
      { item: `metadata:${ROUTER}`, ok: false, error: `namespace ${NS} does not exist yet (the L3 driver creates it)` },
      { item: `metadata:${NETWORK}`, ok: false, error: `namespace ${DHCP_NS} does not exist yet (the L2 driver creates it)` },
      { item: 'sweep', ok: true },
    ]);
    expect(m.signals).toEqual([`SIGTERM ${started} ${NODE}`]);
    expect(m.dirs.has(DIR)).toBe(true);
  });

  it('starts the proxy even when an address cannot be added, and reports the failure', async () => {
    const { machine: m, options } = routerHost();
    m.failAddressOn.add(QR2);
    const [result] = await reconcileMetadata([router1], m, options);
    expect(result).toEqual({
      item: `metadata:${ROUTER}`,
      ok: false,
      error: expect.stringMatching(new RegExp(`^adding fe80::a9fe:a9fe/64 to ${QR2}: .*Permission denied$`)) as unknown,
    });
    expect(m.processes.get(pid(m))?.[1]).toBe(SCRIPT);
  });

  it('reports an invalid intent, a duplicate and a proxy that does not come up as item errors', async () => {
    const { machine: m, options } = routerHost();
    expect(await reconcileMetadata([{ ...router1, interfaces: ['bad name'] }, router1, { ...router1, id: ROUTER.toUpperCase() }], m, options)).toEqual([
      { item: `metadata:${ROUTER}`, ok: false, error: expect.stringContaining('invalid metadata proxy intent') as unknown },
      { item: `metadata:${ROUTER}`, ok: false, error: `metadata:${ROUTER} is listed twice` },
      { item: `metadata:${ROUTER.toUpperCase()}`, ok: false, error: `metadata:${ROUTER.toUpperCase()} is listed twice` },
      { item: 'sweep', ok: true },
    ]);
    m.daemonsFail = true;
    const [failed] = await reconcileMetadata([router1], m, { ...options, timings: { startWaitMs: 100, pollMs: 50 } });
    expect(failed).toEqual({
      item: `metadata:${ROUTER}`,
      ok: false,
      error: `metadata-proxy did not start (no live process for ${DIR}/pid; see ${DIR}/proxy.log)`,
    });
  });

  it('sweeps the proxies no intent names: SIGTERM after the identity check, state and metadata addresses removed', async () => {
    const { machine: m, options } = routerHost();
    m.addNamespace(DHCP_NS);
    await reconcileMetadata([router1, dhcp1], m, options);
    const started = pid(m);
    await m.makeDir(`${STATE}/metadata/not-an-id`);
    const recorder = new RecordingRunner(m);
    expect(await reconcileMetadata([dhcp1], recorder, options)).toEqual([
      { item: `metadata:${NETWORK}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    expect(m.signals).toEqual([`SIGTERM ${started} ${NODE}`]);
    expect(m.dirs.has(DIR)).toBe(false);
    expect(m.dirs.has(`${STATE}/metadata/${NETWORK}`)).toBe(true);
    expect(m.dirs.has(`${STATE}/metadata/not-an-id`)).toBe(true);
    expect(mutations(recorder)).toEqual([
      `ip -n ${NS} addr del 169.254.169.254/32 dev lo`,
      `ip -n ${NS} addr del fe80::a9fe:a9fe/64 dev ${QR1}`,
      `ip -n ${NS} addr del fe80::a9fe:a9fe/64 dev ${QR2}`,
    ]);
    expect(m.link(NS, QR1).addrs.map((a) => a.local)).toEqual(['fe80::1']);
  });

  it('moves the metadata addresses with the metadata: DHCP namespace -> router namespace -> back, never in both', async () => {
    // one network: first served by its DHCP server alone, then a router interface is added on
    // it (the metadata service then names the router), then removed again
    const { machine: m, options } = routerHost();
    m.addNamespace(DHCP_NS, 'ns-bbbb0002-00');
    const routed = { ...router1, interfaces: [QR1], endpoints: [vm2] };
    const holders = (): string[] =>
      [...m.namespaces]
        .flatMap(([ns, links]) =>
          [...links]
            .filter(([, l]) => l.addrs.some((a) => a.local === 'fe80::a9fe:a9fe' || a.local === '169.254.169.254'))
            .map(([ifname]) => `${ns} ${ifname}`),
        )
        .sort();

    expect(await reconcileMetadata([dhcp1], m, options)).toEqual([
      { item: `metadata:${NETWORK}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    expect(holders()).toEqual([`${DHCP_NS} lo`, `${DHCP_NS} ns-bbbb0002-00`]);

    const added = new RecordingRunner(m);
    expect(await reconcileMetadata([routed], added, options)).toEqual([
      { item: `metadata:${ROUTER}`, ok: true },
      { item: 'sweep', ok: true },
    ]);
    expect(holders()).toEqual([`${NS} lo`, `${NS} ${QR1}`]);
    expect(mutations(added).filter((c) => c.includes(DHCP_NS))).toEqual([
      `ip -n ${DHCP_NS} addr del 169.254.169.254/32 dev lo`,
      `ip -n ${DHCP_NS} addr del fe80::a9fe:a9fe/64 dev ns-bbbb0002-00`,
    ]);

    // the router keeps its other networks (here QR2's), so it still has an intent, without QR1
    const removed = new RecordingRunner(m);
    const results = await reconcileMetadata([{ ...routed, interfaces: [QR2] }, dhcp1], removed, options);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(holders()).toEqual([`${DHCP_NS} lo`, `${DHCP_NS} ns-bbbb0002-00`, `${NS} lo`, `${NS} ${QR2}`]);
    // the two proxies are reconciled at once: each namespace's commands in their order
    const addressChanges = (ns: string) => mutations(removed).filter((c) => c.startsWith(`ip -n ${ns} addr `));
    expect(addressChanges(NS)).toEqual([
      `ip -n ${NS} addr del fe80::a9fe:a9fe/64 dev ${QR1}`,
      `ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${QR2} nodad preferred_lft 0`,
    ]);
    expect(addressChanges(DHCP_NS)).toEqual([
      `ip -n ${DHCP_NS} addr add 169.254.169.254/32 dev lo`,
      `ip -n ${DHCP_NS} addr add fe80::a9fe:a9fe/64 dev ns-bbbb0002-00 nodad preferred_lft 0`,
    ]);
    expect(mutations(removed).filter((c) => c.includes(' addr '))).toHaveLength(4);
  });

  it('with `clean`, reads a namespace it does not serve once, and again once one served stops being served', async () => {
    const { machine: m, options } = routerHost();
    m.addNamespace(DHCP_NS, 'ns-bbbb0002-00');
    const clean = new Set<string>();
    const pass = async (intents: Parameters<typeof reconcileMetadata>[0]) => {
      const recorder = new RecordingRunner(m);
      const results = await reconcileMetadata(intents, recorder, { ...options, clean });
      expect(results.every((r) => r.ok)).toBe(true);
      return { read: [NS, DHCP_NS].filter((ns) => recorder.calls.some((c) => c.includes(ns) && c.includes('addr'))), mutations: mutations(recorder) };
    };
    const dhcpHolds = () => m.link(DHCP_NS, 'ns-bbbb0002-00').addrs.some((a) => a.local === 'fe80::a9fe:a9fe');

    expect((await pass([router1])).read).toEqual([NS, DHCP_NS]);
    expect([...clean]).toEqual([DHCP_NS]);
    // the router's own namespace is read for its proxy; the DHCP namespace no more
    expect((await pass([router1])).read).toEqual([NS]);

    // the metadata moves to the DHCP namespace: the router's is swept (and then clean)
    await pass([dhcp1]);
    expect(dhcpHolds()).toBe(true);
    expect([...clean]).toEqual([NS]);
    // and back: the DHCP namespace, served meanwhile, is read again and its addresses go
    const back = await pass([router1]);
    expect(back.mutations).toContain(`ip -n ${DHCP_NS} addr del fe80::a9fe:a9fe/64 dev ns-bbbb0002-00`);
    expect(dhcpHolds()).toBe(false);

    // an address put there by someone else is found when the caller empties the set (a resync)
    await pass([router1]);
    await m.run(['ip', '-n', DHCP_NS, 'addr', 'add', 'fe80::a9fe:a9fe/64', 'dev', 'ns-bbbb0002-00']);
    expect(dhcpHolds()).toBe(true);
    expect((await pass([router1])).read).toEqual([NS]);
    clean.clear();
    expect((await pass([router1])).mutations).toContain(`ip -n ${DHCP_NS} addr del fe80::a9fe:a9fe/64 dev ns-bbbb0002-00`);
  });

  it('with `settled`, reads a proxy in place no more until its intent, its pid or its namespace (someone else changed it) does', async () => {
    const { machine: m, options } = routerHost();
    const settled: SettledDaemons = new Map();
    const pass = async (intents: Parameters<typeof reconcileMetadata>[0]) => {
      const recorder = new RecordingRunner(m);
      const results = await reconcileMetadata(intents, recorder, { ...options, namespaces: [NS], settled });
      expect(results.every((r) => r.ok)).toBe(true);
      // the proxy's two reads: its namespace's addresses, the namespace its pid runs in
      const reads = recorder.calls.filter((c) => c.join(' ') === `ip -n ${NS} -j addr show` || (c[1] === 'netns' && c[2] === 'identify'));
      return { reads: reads.length, mutations: mutations(recorder) };
    };
    // started, then read once more and found in place; then nothing is read
    expect((await pass([router1])).mutations).toContain(START);
    expect(settled.size).toBe(0);
    expect(await pass([router1])).toEqual({ reads: 2, mutations: [] });
    expect(settled.get(ROUTER)).toMatchObject({ namespace: NS, pid: pid(m) });
    expect(await pass([router1])).toEqual({ reads: 0, mutations: [] });

    // its intent changed: a new interface gets its address
    m.plug(NS, router1.interfaces[2] ?? '');
    const third = await pass([{ ...router1, endpoints: [vm1] }]);
    expect(third.mutations).toEqual([`ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${router1.interfaces[2] ?? ''} nodad preferred_lft 0`]);
    await pass([{ ...router1, endpoints: [vm1] }]);
    expect((await pass([{ ...router1, endpoints: [vm1] }])).reads).toBe(0);

    // the L3 driver changed its namespace: forgotten, read again, an address removed by hand found
    await m.run(['ip', '-n', NS, 'addr', 'del', '169.254.169.254/32', 'dev', 'lo']);
    forgetSettledIn(settled, new Set(['qrouter-other']));
    expect((await pass([{ ...router1, endpoints: [vm1] }])).mutations).toEqual([]);
    forgetSettledIn(settled, new Set([NS]));
    expect((await pass([{ ...router1, endpoints: [vm1] }])).mutations).toEqual([`ip -n ${NS} addr add 169.254.169.254/32 dev lo`]);

    // another proxy process under its pid file, started outside the namespace by someone else: found and replaced
    await pass([{ ...router1, endpoints: [vm1] }]);
    const stray = m.spawnForeign(m.processes.get(pid(m)) ?? []);
    m.files.set(`${DIR}/pid`, `${stray}\n`);
    expect((await pass([{ ...router1, endpoints: [vm1] }])).mutations).toEqual([START]);

    // the proxy died: started again, and its namespace checked again before it settles
    await pass([{ ...router1, endpoints: [vm1] }]);
    m.processes.delete(pid(m));
    expect((await pass([{ ...router1, endpoints: [vm1] }])).mutations).toEqual([START]);
    expect(settled.has(ROUTER)).toBe(false);
    // gone from the intents: forgotten
    await pass([{ ...router1, endpoints: [vm1] }]);
    expect(settled.has(ROUTER)).toBe(true);
    await pass([]);
    expect(settled.size).toBe(0);
  });

  it('leaves namespaces it was not given alone: another agent on the machine may serve metadata there', async () => {
    const { machine: m, options } = routerHost();
    m.addNamespace(DHCP_NS, 'ns-bbbb0002-00');
    await reconcileMetadata([dhcp1], m, options);
    const recorder = new RecordingRunner(m);
    expect(await reconcileMetadata([], recorder, { ...options, namespaces: [NS, 'qdhcp-gone0000', 'not a namespace'] })).toEqual([{ item: 'sweep', ok: true }]);
    expect(mutations(recorder).filter((c) => c.includes(' addr '))).toEqual([]);
    expect(m.link(DHCP_NS, 'ns-bbbb0002-00').addrs.map((a) => a.local)).toContain('fe80::a9fe:a9fe');
  });

  it('reports an address it cannot remove as a sweep failure and goes on with the other namespaces', async () => {
    const { machine: m, options } = routerHost();
    m.addNamespace(DHCP_NS, 'ns-bbbb0002-00');
    await reconcileMetadata([router1, dhcp1], m, options);
    const failing = {
      run: (argv: readonly string[]) =>
        argv.includes(NS) && argv.includes('del') ? Promise.reject(new Error('RTNETLINK answers: Operation not permitted')) : m.run(argv),
    };
    const results = await reconcileMetadata([], failing, options);
    expect(results).toEqual([{ item: 'sweep', ok: false, error: `metadata addresses of ${NS}: RTNETLINK answers: Operation not permitted` }]);
    expect(m.link(DHCP_NS, 'ns-bbbb0002-00').addrs.map((a) => a.local)).not.toContain('fe80::a9fe:a9fe');
  });

  it('refuses unusable paths and reports a failing namespace list on every item', async () => {
    const { machine: m, options } = routerHost();
    await expect(reconcileMetadata([], m, { ...options, stateDir: 'relative' })).rejects.toThrow(/stateDir/);
    await expect(reconcileMetadata([], m, { ...options, forwardSocket: `/${'x'.repeat(120)}` })).rejects.toThrow(/longer than a unix socket allows/);
    await expect(reconcileMetadata([], m, { ...options, forwardSocket: '/a b' })).rejects.toThrow(/socket path/);
    await expect(reconcileMetadata([], m, { ...options, proxyCommand: ['node', SCRIPT] })).rejects.toThrow(/proxyCommand/);
    const broken = { run: () => Promise.reject(new Error('ip: not found')) };
    expect(await reconcileMetadata([router1], broken, options)).toEqual([
      { item: `metadata:${ROUTER}`, ok: false, error: 'reading the namespaces failed: ip: not found' },
      { item: 'sweep', ok: false, error: 'reading the namespaces failed: ip: not found' },
    ]);
  });
});

describe('planMetadataAddresses', () => {
  const addr = (cidr: string, extra: Partial<ObservedAddress> = {}): ObservedAddress => ({
    family: cidr.includes(':') ? 6 : 4,
    cidr,
    scope: cidr.startsWith('fe80:') ? 'link' : 'global',
    dadFailed: false,
    deprecated: false,
    ...extra,
  });
  const META = (extra: Partial<ObservedAddress> = {}): ObservedAddress => addr('fe80::a9fe:a9fe/64', { deprecated: true, ...extra });
  const KERNEL = addr('fe80::f816:3eff:fe00:1/64');
  const lo: ObservedRouterLink = { name: 'lo', up: true, addresses: [addr('127.0.0.1/8', { scope: 'host' }), addr('169.254.169.254/32')] };
  const link = (name: string, ...addresses: ObservedAddress[]): ObservedRouterLink => ({ name, up: true, addresses: [addr('10.0.0.1/24'), ...addresses] });
  const argv = (steps: { argv: readonly string[] }[]): string[] => steps.map((s) => s.argv.join(' '));

  it('is empty when converged: the address deprecated and the newest link-local one on exactly the named interfaces', () => {
    expect(planMetadataAddresses(NS, { interfaces: [QR1] }, [lo, link(QR1, META(), KERNEL), link(QR2, KERNEL)])).toEqual([]);
  });

  it('adds the address again when it could become a source: not deprecated (an older agent added it), older than another link-local, or DAD failed', () => {
    const del = (ifname: string) => `ip -n ${NS} addr del fe80::a9fe:a9fe/64 dev ${ifname}`;
    const add = (ifname: string) => `ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${ifname} nodad preferred_lft 0`;
    const steps = planMetadataAddresses(NS, { interfaces: [QR1, QR2, QR3] }, [
      lo,
      link(QR1, META({ deprecated: false }), KERNEL),
      link(QR2, KERNEL, META()),
      link(QR3, META({ dadFailed: true }), KERNEL),
    ]);
    expect(argv(steps)).toEqual([del(QR1), add(QR1), del(QR2), add(QR2), del(QR3), add(QR3)]);
    expect(steps.map((s) => s.why)).toEqual([
      `fe80::a9fe:a9fe/64 on ${QR1}: it is not deprecated, removing it to add it again`,
      `adding fe80::a9fe:a9fe/64 to ${QR1}`,
      `fe80::a9fe:a9fe/64 on ${QR2}: a newer link-local address would make it the source of neighbour solicitations, removing it to add it again`,
      `adding fe80::a9fe:a9fe/64 to ${QR2}`,
      `fe80::a9fe:a9fe/64 on ${QR3}: it failed DAD, removing it to add it again`,
      `adding fe80::a9fe:a9fe/64 to ${QR3}`,
    ]);
  });

  it('removes the address from the interfaces the intent does not name, and both addresses where no metadata is served', () => {
    const links = [lo, link(QR1, META(), KERNEL), link(QR2, META(), KERNEL)];
    expect(argv(planMetadataAddresses(NS, { interfaces: [QR2] }, links))).toEqual([`ip -n ${NS} addr del fe80::a9fe:a9fe/64 dev ${QR1}`]);
    expect(argv(planMetadataAddresses(NS, null, links))).toEqual([
      `ip -n ${NS} addr del 169.254.169.254/32 dev lo`,
      `ip -n ${NS} addr del fe80::a9fe:a9fe/64 dev ${QR1}`,
      `ip -n ${NS} addr del fe80::a9fe:a9fe/64 dev ${QR2}`,
    ]);
    expect(planMetadataAddresses(NS, null, [{ ...lo, addresses: [] }, link(QR1, KERNEL)])).toEqual([]);
  });
});
