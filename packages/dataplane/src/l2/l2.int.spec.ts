import { type L2HostIntent, type L2NetworkIntent } from '@ncp/contracts';
import { runArgv } from '@ncp/testing';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeOnNamespaces } from '../__fixtures__/netns-suite.js';
import { expectAllOk, reconcileRecorded } from '../__fixtures__/recorded.js';
import { ExecFileRunner, RecordingRunner } from '../runner.js';
import { l2Port } from './__fixtures__/intent.js';
import { type L2HostConfig } from './model.js';
import { L2Reconciler, reconcileL2 } from './reconcile.js';

/*
 * Two "hosts" (namespaces) whose underlay addresses are in different subnets, routed by a
 * "spine" namespace, so VXLAN crosses a routed underlay. Host A also has a flat provider
 * network whose physnet NIC is a veth to an "upstream" namespace. Everything lives in
 * namespaces this file creates and deletes.
 *
 *   wa(P1) ─ hostA ─ uplink 10.91.1.1 ── spine ── 10.91.2.1 uplink ─ hostB ─ wb(P2), wb2(P4)
 *   wc(P3) ─ hostA ─ phys0 ── up0 10.92.0.2 upstream
 */

const NET_VX = 'a1b2c3d4-1111-4111-8111-000000000001';
const NET_FLAT = 'b2c3d4e5-2222-4222-8222-000000000002';
const P1 = 'c0000001-0000-4000-8000-000000000001';
const P2 = 'c0000002-0000-4000-8000-000000000002';
const P3 = 'c0000003-0000-4000-8000-000000000003';
const P4 = 'c0000004-0000-4000-8000-000000000004';
const P5 = 'c0000005-0000-4000-8000-000000000005';
const MAC = { P1: 'fa:16:3e:91:00:01', P2: 'fa:16:3e:91:00:02', P3: 'fa:16:3e:91:00:03', P4: 'fa:16:3e:91:00:04', P5: 'fa:16:3e:91:00:05' };
const TUNNEL_A = '10.91.1.1';
const TUNNEL_B = '10.91.2.1';

describeOnNamespaces('L2 driver on real namespaces', [], (topo) => {
  // the workload namespaces are created by the code under test
  const { ns, create } = topo.plan({ spine: 'spine', hostA: 'ha', hostB: 'hb', upstream: 'up' }, { wa: 'wa', wb: 'wb', wb2: 'wb2', wc: 'wc', wa2: 'wa2' });
  const configA: L2HostConfig = { netns: ns.hostA, tunnelIp: TUNNEL_A, physnets: { extnet0: 'phys0' } };
  const configB: L2HostConfig = { netns: ns.hostB, tunnelIp: TUNNEL_B, physnets: {} };

  const vxNet = (flood: string, remotes: [string, string][]): L2NetworkIntent => ({
    id: NET_VX,
    mtu: 1450,
    segment: { networkType: 'vxlan', segmentationId: 4242, physicalNetwork: null },
    floodList: [flood],
    remoteMacs: remotes.map(([mac, tunnelIp]) => ({ mac, tunnelIp })),
  });
  // Smaller than the 1500 of its physnet NIC on purpose: a bridge whose MTU was not pinned with
  // `ip link set` follows its smallest port, and the resync would then find it wrong.
  const flatNet: L2NetworkIntent = {
    id: NET_FLAT,
    mtu: 1400,
    segment: { networkType: 'flat', segmentationId: null, physicalNetwork: 'extnet0' },
    floodList: [],
    remoteMacs: [],
  };
  const intentA: L2HostIntent = {
    networks: [
      vxNet(TUNNEL_B, [
        [MAC.P2, TUNNEL_B],
        [MAC.P4, TUNNEL_B],
      ]),
      flatNet,
    ],
    ports: [l2Port(P1, NET_VX, MAC.P1, ns.wa), l2Port(P3, NET_FLAT, MAC.P3, ns.wc)],
  };
  const intentB: L2HostIntent = {
    networks: [vxNet(TUNNEL_A, [[MAC.P1, TUNNEL_A]])],
    ports: [l2Port(P2, NET_VX, MAC.P2, ns.wb), l2Port(P4, NET_VX, MAC.P4, ns.wb2)],
  };

  const runner = new ExecFileRunner();
  const ping = (from: string, to: string): Promise<string> => topo.exec(from, ['ping', to.includes(':') ? '-6' : '-4', '-c', '2', '-W', '2', to]);
  const linkNames = async (netns: string): Promise<string[]> =>
    (JSON.parse(await runArgv(['ip', '-n', netns, '-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);
  type LinkJson = { master?: string; flags: string[]; mtu: number };
  const link = async (netns: string, name: string): Promise<LinkJson> => {
    const [first] = JSON.parse(await runArgv(['ip', '-n', netns, '-j', 'link', 'show', 'dev', name])) as LinkJson[];
    if (first === undefined) throw new Error(`${name} not found in ${netns}`);
    return first;
  };
  /** Reconciles and returns the commands that were not read-backs. */
  const mutationsOf = async (intent: L2HostIntent, config: L2HostConfig): Promise<string[]> =>
    (await reconcileRecorded((recorder) => reconcileL2(intent, config, recorder))).mutations;

  beforeAll(async () => {
    await create();

    await topo.addVethPair(ns.spine, 's-a', ns.hostA, 'uplink');
    await topo.addVethPair(ns.spine, 's-b', ns.hostB, 'uplink');
    await topo.addVethPair(ns.hostA, 'phys0', ns.upstream, 'up0');
    await topo.linksUp([ns.spine, 's-a'], [ns.spine, 's-b'], [ns.hostA, 'uplink'], [ns.hostB, 'uplink'], [ns.hostA, 'phys0'], [ns.upstream, 'up0']);
    await topo.addAddress(ns.spine, 's-a', '10.91.1.254/24');
    await topo.addAddress(ns.spine, 's-b', '10.91.2.254/24');
    await topo.addAddress(ns.hostA, 'uplink', `${TUNNEL_A}/24`);
    await topo.addAddress(ns.hostB, 'uplink', `${TUNNEL_B}/24`);
    await topo.addRoute(ns.hostA, 'default', '10.91.1.254');
    await topo.addRoute(ns.hostB, 'default', '10.91.2.254');
    await topo.sysctl(ns.spine, 'net.ipv4.ip_forward', '1');
    await topo.addAddress(ns.upstream, 'up0', '10.92.0.2/24');
    // the underlay works before we start
    await ping(ns.hostA, TUNNEL_B);
  });

  afterAll(async () => {
    await topo.destroy();
  });

  it('builds both hosts from scratch; workloads ping across VXLAN over a routed underlay', async () => {
    expectAllOk(await reconcileL2(intentA, configA, runner));
    expectAllOk(await reconcileL2(intentB, configB, runner));

    await topo.addAddress(ns.wa, 'eth0', '192.168.50.1/24');
    await topo.addAddress(ns.wa, 'eth0', 'fd00:50::1/64');
    await topo.addAddress(ns.wb, 'eth0', '192.168.50.2/24');
    await topo.addAddress(ns.wb, 'eth0', 'fd00:50::2/64');
    await topo.addAddress(ns.wb2, 'eth0', '192.168.50.4/24');
    await ping(ns.wa, '192.168.50.2');
    await ping(ns.wa, 'fd00:50::2');
    await ping(ns.wb2, '192.168.50.1');

    const vx = JSON.parse(await runArgv(['ip', '-n', ns.hostA, '-j', '-d', 'link', 'show', 'dev', 'vx-a1b2c3d4'])) as unknown[];
    expect(vx[0]).toMatchObject({
      mtu: 1450,
      master: 'br-a1b2c3d4',
      ifalias: `ncp:vx:${NET_VX}`,
      linkinfo: { info_kind: 'vxlan', info_data: { id: 4242, local: TUNNEL_A, port: 4789, learning: false } },
    });
    expect(JSON.parse(await runArgv(['ip', '-n', ns.wa, '-j', 'link', 'show', 'dev', 'eth0']))).toMatchObject([
      { address: MAC.P1, mtu: 1450, ifalias: `ncp:port:${P1}` },
    ]);
  });

  it('puts a flat-network workload on the physnet: it pings the upstream', async () => {
    await topo.addAddress(ns.wc, 'eth0', '10.92.0.10/24');
    await ping(ns.wc, '10.92.0.2');
    expect((await link(ns.hostA, 'phys0')).master).toBe('br-b2c3d4e5');
    expect(await link(ns.hostA, 'br-b2c3d4e5')).toMatchObject({ mtu: 1400 });
  });

  it('issues no mutating command on a converged host', async () => {
    expect(await mutationsOf(intentA, configA)).toEqual([]);
    expect(await mutationsOf(intentB, configB)).toEqual([]);
  });

  it('from a fresh process state (no memory), finds and keeps everything', async () => {
    vi.resetModules();
    const fresh = await import('../index.js');
    const recorder = new fresh.RecordingRunner(new fresh.ExecFileRunner());
    const result = await fresh.reconcileL2(intentA, configA, recorder);
    expect(result.every((r) => r.ok)).toBe(true);
    expect(recorder.mutatingCalls()).toEqual([]);
    await ping(ns.wa, '192.168.50.2');
  });

  it('repairs drift with the minimal commands (fdb entries, admin state)', async () => {
    const bridge = ['bridge', '-n', ns.hostA, 'fdb'];
    await runArgv([...bridge, 'del', MAC.P2, 'dev', 'vx-a1b2c3d4', 'dst', TUNNEL_B]);
    await runArgv([...bridge, 'append', '00:00:00:00:00:00', 'dev', 'vx-a1b2c3d4', 'dst', '10.91.9.9']);
    await runArgv(['ip', '-n', ns.hostA, 'link', 'set', 'dev', 'tapc0000001000', 'down']);
    // the host's ip steps run before its fdb steps (one batch each)
    expect(await mutationsOf(intentA, configA)).toEqual([
      `ip -n ${ns.hostA} link set dev tapc0000001000 up`,
      `bridge -n ${ns.hostA} fdb del 00:00:00:00:00:00 dev vx-a1b2c3d4 dst 10.91.9.9`,
      `bridge -n ${ns.hostA} fdb replace ${MAC.P2} dev vx-a1b2c3d4 dst ${TUNNEL_B}`,
    ]);
    expect(await mutationsOf(intentA, configA)).toEqual([]);
    await ping(ns.wa, '192.168.50.2');
  });

  it('removing a port deletes its veth; the other ports keep working', async () => {
    const withoutP4B: L2HostIntent = { ...intentB, ports: intentB.ports.filter((p) => p.id !== P4) };
    const withoutP4A: L2HostIntent = { ...intentA, networks: [vxNet(TUNNEL_B, [[MAC.P2, TUNNEL_B]]), flatNet] };
    expect(await mutationsOf(withoutP4B, configB)).toEqual([`ip -n ${ns.hostB} link del dev tapc0000004000`]);
    expect(await mutationsOf(withoutP4A, configA)).toEqual([`bridge -n ${ns.hostA} fdb del ${MAC.P4} dev vx-a1b2c3d4 dst ${TUNNEL_B}`]);
    expect(await linkNames(ns.hostB)).not.toContain('tapc0000004000');
    expect(await linkNames(ns.wb2)).toEqual(['lo']); // the namespace stays, its NIC is gone
    await ping(ns.wa, '192.168.50.2');
    await ping(ns.wb, 'fd00:50::1');
  });

  it('lists the namespaces as `ip netns list` does, without a process', async () => {
    const listed = (JSON.parse(await runArgv(['ip', '-j', 'netns', 'list'])) as { name: string }[]).map((n) => n.name).sort();
    expect((await runner.listNetns()).sort()).toEqual(listed);
    expect(listed).toEqual(expect.arrayContaining([ns.hostA, ns.wa, ns.wb2]));
  });

  it('between resyncs, reads back with one `ip -force -batch` the host links a change concerns', async () => {
    // host A as the test before left it (P4 gone from host B)
    const current: L2HostIntent = { ...intentA, networks: [vxNet(TUNNEL_B, [[MAC.P2, TUNNEL_B]]), flatNet] };
    const recorder = new RecordingRunner(runner);
    const reconciler = new L2Reconciler(configA, recorder);
    expectAllOk(await reconciler.reconcile(current, { resync: true }));
    const withP5: L2HostIntent = { ...current, ports: [...current.ports, l2Port(P5, NET_VX, MAC.P5, ns.wa2)] };
    const from = recorder.processes.length;
    expectAllOk(await reconciler.reconcile(withP5, { resync: false }));
    const processes = recorder.processes.slice(from).map((p) => p.join(' '));
    // no whole-host read: the new tap (missing, so that line fails) and its bridge, in one batch
    expect(processes).not.toContain(`ip -n ${ns.hostA} -j -d link show`);
    expect(processes).toContain(`ip -n ${ns.hostA} -j -d -force -batch -`);
    expect((await link(ns.hostA, 'tapc0000005000')).master).toBe('br-a1b2c3d4');
    await topo.addAddress(ns.wa2, 'eth0', '192.168.50.5/24');
    await ping(ns.wa2, '192.168.50.1');
    // what that pass changed reads back as converged, then a resync agrees
    const before = recorder.mutatingCalls().length;
    expectAllOk(await reconciler.reconcile(withP5, { resync: false }));
    expectAllOk(await reconciler.reconcile(withP5, { resync: true }));
    expect(recorder.mutatingCalls().slice(before)).toEqual([]);
    expectAllOk(await reconciler.reconcile(current, { resync: false }));
    expect(await linkNames(ns.hostA)).not.toContain('tapc0000005000');
    expect(await mutationsOf(current, configA)).toEqual([]);
  });

  it('removing the flat network releases the physnet interface and never deletes it', async () => {
    const onlyVx: L2HostIntent = { networks: [vxNet(TUNNEL_B, [[MAC.P2, TUNNEL_B]])], ports: [l2Port(P1, NET_VX, MAC.P1, ns.wa)] };
    expect(await mutationsOf(onlyVx, configA)).toEqual([
      `ip -n ${ns.hostA} link del dev tapc0000003000`,
      `ip -n ${ns.hostA} link set dev phys0 nomaster`,
      `ip -n ${ns.hostA} link del dev br-b2c3d4e5`,
    ]);
    const phys0 = await link(ns.hostA, 'phys0');
    expect(phys0.master).toBeUndefined();
    expect(phys0.flags).toContain('UP');
    expect(await linkNames(ns.hostA)).not.toContain('br-b2c3d4e5');
    await ping(ns.wa, '192.168.50.2');
  });
});
