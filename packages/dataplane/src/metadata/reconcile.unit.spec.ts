import { describe, expect, it } from 'vitest';
import { RecordingRunner } from '../runner.js';
import { FakeMetadataMachine } from './__fixtures__/fake-host.js';
import { DHCP_NS, NETWORK, NODE, NS, QR1, QR2, ROUTER, SCRIPT, SOCKET, STATE, dhcp1, router1, vm1 } from './__fixtures__/intent.js';
import { type MetadataProxyConfig } from './model.js';
import { type MetadataOptions, isMetadataReadOnlyCommand, reconcileMetadata } from './reconcile.js';

const DIR = `${STATE}/metadata/${ROUTER}`;
const START = `ip netns exec ${NS} ${NODE} ${SCRIPT} --config=${DIR}/config.json --pid-file=${DIR}/pid --socket=${SOCKET} --log-file=${DIR}/proxy.log --daemon`;
const allOk = [{ item: `metadata:${ROUTER}`, ok: true }, { item: 'sweep', ok: true }];

/** A host where the L3 driver made the router's namespace and the L2 driver plugged two of its three ports. */
function routerHost(): { machine: FakeMetadataMachine; options: MetadataOptions } {
  const machine = new FakeMetadataMachine();
  machine.addNamespace(NS);
  machine.plug(NS, QR1);
  machine.plug(NS, QR2);
  return { machine, options: { stateDir: STATE, forwardSocket: SOCKET, host: machine, proxyCommand: [NODE, SCRIPT] } };
}

const pid = (m: FakeMetadataMachine, file = `${DIR}/pid`): number => Number(m.files.get(file));
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
      `ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${QR1} nodad`,
      `ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${QR2} nodad`,
      START,
    ]);
    expect(config(m)).toEqual({ endpoints: router1.endpoints });
    expect(m.processes.get(pid(m))).toEqual([NODE, SCRIPT, `--config=${DIR}/config.json`, `--pid-file=${DIR}/pid`, `--socket=${SOCKET}`, `--log-file=${DIR}/proxy.log`]);

    // a restarted agent: same intent, nothing remembered but the state directory
    const started = pid(m);
    const second = new RecordingRunner(m);
    expect(await reconcileMetadata([router1], second, options)).toEqual(allOk);
    expect(mutations(second)).toEqual([]);
    expect(second.calls.map((c) => c.join(' '))).toContain(`ip netns identify ${started}`);
    expect(m.signals).toEqual([]);
    expect(pid(m)).toBe(started);
  });

  it('a changed endpoint list only rewrites the config (the proxy re-reads it); a new interface gets its address', async () => {
    const { machine: m, options } = routerHost();
    await reconcileMetadata([router1], m, options);
    const started = pid(m);
    m.plug(NS, router1.interfaces[2] ?? '');
    const recorder = new RecordingRunner(m);
    expect(await reconcileMetadata([{ ...router1, endpoints: [vm1] }], recorder, options)).toEqual(allOk);
    expect(mutations(recorder)).toEqual([`ip -n ${NS} addr add fe80::a9fe:a9fe/64 dev ${router1.interfaces[2] ?? ''} nodad`]);
    expect(config(m)).toEqual({ endpoints: [vm1] });
    expect(m.signals).toEqual([]);
    expect(pid(m)).toBe(started);
  });

  it('restarts the proxy when its command line changes, or when its namespace was deleted and made again', async () => {
    const { machine: m, options } = routerHost();
    await reconcileMetadata([router1], m, options);
    const first = pid(m);
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
    const { machine: m, options } = routerHost();
    await reconcileMetadata([router1], m, options);
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
    const { machine: m, options } = routerHost();
    await reconcileMetadata([router1], m, options);
    const started = pid(m);
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
    expect(result).toEqual({ item: `metadata:${ROUTER}`, ok: false, error: expect.stringMatching(new RegExp(`^adding fe80::a9fe:a9fe/64 to ${QR2}: .*Permission denied$`)) as unknown });
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
    expect(failed).toEqual({ item: `metadata:${ROUTER}`, ok: false, error: `metadata-proxy did not start (no live process for ${DIR}/pid; see ${DIR}/proxy.log)` });
  });

  it('sweeps the proxies no intent names: SIGTERM after the identity check, state removed, addresses left', async () => {
    const { machine: m, options } = routerHost();
    m.addNamespace(DHCP_NS);
    await reconcileMetadata([router1, dhcp1], m, options);
    const started = pid(m);
    await m.makeDir(`${STATE}/metadata/not-an-id`);
    const recorder = new RecordingRunner(m);
    expect(await reconcileMetadata([dhcp1], recorder, options)).toEqual([{ item: `metadata:${NETWORK}`, ok: true }, { item: 'sweep', ok: true }]);
    expect(m.signals).toEqual([`SIGTERM ${started} ${NODE}`]);
    expect(m.dirs.has(DIR)).toBe(false);
    expect(m.dirs.has(`${STATE}/metadata/${NETWORK}`)).toBe(true);
    expect(m.dirs.has(`${STATE}/metadata/not-an-id`)).toBe(true);
    expect(mutations(recorder)).toEqual([]);
    expect(m.link(NS, QR1).addrs.map((a) => a.local)).toContain('fe80::a9fe:a9fe');
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
