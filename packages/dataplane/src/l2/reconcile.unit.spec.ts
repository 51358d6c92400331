import { type L2HostIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { RecordingRunner, isReadOnlyCommand } from '../runner.js';
import { FakeKernel } from './__fixtures__/fake-kernel.js';
import { N1, N2, N3, N4, P1, P2, P3, config, emptyHost, fixtureIntent, frozenIntent, l2Port, port1, port2, port3, vxlanNet1 } from './__fixtures__/intent.js';
import { applyL2 } from './apply.js';
import { planL2 } from './plan.js';
import { L2Reconciler, reconcileL2 } from './reconcile.js';

const mutating = (calls: readonly (readonly string[])[]): string[] => calls.filter((c) => !isReadOnlyCommand(c)).map((c) => c.join(' '));

describe('reconcileL2 against an in-memory kernel', () => {
  it('converges in one pass and then issues no mutating command', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    const first = await reconcileL2(fixtureIntent, config, kernel);
    expect(first).toEqual([
      ...[N1, N2, N3, N4].map((id) => ({ item: `network:${id}`, ok: true })),
      ...[P1, P2, P3].map((id) => ({ item: `port:${id}`, ok: true })),
      { item: 'sweep', ok: true },
    ]);
    expect(kernel.link('host-a', 'eth1')?.master).toBe('br-3c4d5e6f');
    expect(kernel.link('wl-vm2', 'eth1')?.address).toBe('fa:16:3e:00:01:03');
    expect(kernel.link('host-a', 'tapcccc3333000')?.up).toBe(false);
    expect(kernel.fdb('host-a', 'vx-1a2b3c4d')).toHaveLength(4);

    const recorder = new RecordingRunner(kernel);
    const second = await reconcileL2(fixtureIntent, config, recorder);
    expect(second.every((r) => r.ok)).toBe(true);
    expect(recorder.mutatingCalls()).toEqual([]);
    expect(recorder.calls.length).toBeGreaterThan(0);
  });

  it('builds the host with one process per namespace and tool, not one per command', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    await reconcileL2(fixtureIntent, config, kernel);
    expect(mutating(kernel.processes)).toEqual([
      'ip netns add wl-vm1',
      'ip netns add wl-vm2',
      'ip -n host-a -batch -',
      'bridge -n host-a -batch -',
      'ip -n wl-vm1 -batch -',
      'ip -n wl-vm2 -batch -',
    ]);
    // the same commands as the plan, as a set: only their order across namespaces changed
    const plan = planL2(fixtureIntent, config, emptyHost);
    expect(mutating(kernel.calls).sort()).toEqual(plan.steps.map((s) => s.argv.join(' ')).sort());
  });

  it('keeps going when one item fails, and finishes it on the next pass', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    const broken = 'ip -n host-a link set dev vx-1a2b3c4d master br-1a2b3c4d up';
    kernel.failOn.add(broken);
    const first = await reconcileL2(fixtureIntent, config, kernel);
    expect(first.find((r) => r.item === `network:${N1}`)).toEqual({ item: `network:${N1}`, ok: false, error: expect.stringMatching(/injected failure/) });
    expect(first.filter((r) => !r.ok).map((r) => r.item)).toEqual([`network:${N1}`]);
    // the fdb steps after the failed one were not run
    expect(kernel.fdb('host-a', 'vx-1a2b3c4d')).toEqual([]);

    kernel.failOn.clear();
    const before = kernel.calls.length;
    const second = await reconcileL2(fixtureIntent, config, kernel);
    expect(second.every((r) => r.ok)).toBe(true);
    expect(mutating(kernel.calls.slice(before))).toEqual([
      broken,
      'bridge -n host-a fdb append 00:00:00:00:00:00 dev vx-1a2b3c4d dst 10.0.0.2',
      'bridge -n host-a fdb append 00:00:00:00:00:00 dev vx-1a2b3c4d dst 10.0.0.3',
      'bridge -n host-a fdb replace fa:16:3e:00:02:01 dev vx-1a2b3c4d dst 10.0.0.2',
      'bridge -n host-a fdb replace fa:16:3e:00:03:01 dev vx-1a2b3c4d dst 10.0.0.3',
    ]);
  });

  it('sweeps what left the intent, releasing (never deleting) the physnet interface', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    await reconcileL2(fixtureIntent, config, kernel);
    const before = kernel.calls.length;
    const result = await reconcileL2({ networks: [vxlanNet1], ports: [port1] }, config, kernel);
    expect(result.every((r) => r.ok)).toBe(true);
    expect(mutating(kernel.calls.slice(before))).toEqual([
      'ip -n host-a link del dev tapbbbb2222000',
      'ip -n host-a link del dev tapcccc3333000',
      'ip -n host-a link del dev vl-4d5e6f70',
      'ip -n host-a link del dev vx-2b3c4d5e',
      'ip -n host-a link del dev br-2b3c4d5e',
      'ip -n host-a link set dev eth1 nomaster',
      'ip -n host-a link del dev br-3c4d5e6f',
      'ip -n host-a link del dev br-4d5e6f70',
    ]);
    expect(
      kernel
        .links('host-a')
        .map((l) => l.name)
        .sort(),
    ).toEqual(['br-1a2b3c4d', 'eth1', 'eth2', 'lo', 'tapaaaa1111000', 'vx-1a2b3c4d']);
    expect(kernel.link('host-a', 'eth1')?.master).toBeNull();
    // namespaces are never deleted
    expect(kernel.links('wl-vm2').map((l) => l.name)).toEqual(['lo']);
  });

  it('reports every item when the host cannot be read, and changes nothing', async () => {
    const kernel = new FakeKernel(null);
    const result = await reconcileL2(fixtureIntent, { ...config, netns: 'missing' }, kernel);
    expect(result).toHaveLength(8);
    expect(result.every((r) => !r.ok && /reading the host state failed/.test(r.error))).toBe(true);
    expect(mutating(kernel.calls)).toEqual([]);
  });
});

describe('L2Reconciler: what it reads back between resyncs', () => {
  const P4 = 'dddd4444-0000-4000-8000-0000000000d4';
  const change = { resync: false };
  /** the namespaces whose links a pass read back, in the calls since `from` */
  const readBack = (kernel: FakeKernel, from: number) =>
    kernel.calls
      .slice(from)
      .filter((c) => c.join(' ').endsWith('-j -d link show') && c[2] !== 'host-a')
      .map((c) => c[2] ?? '')
      .sort();
  const fdbReads = (kernel: FakeKernel, from: number) => kernel.calls.slice(from).filter((c) => c[0] === 'bridge' && c.includes('show')).length;

  it('with the agent’s frozen entries, plans again only what changed, and a resync finds what someone else changed', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    const intent = frozenIntent(fixtureIntent);
    const reconciler = new L2Reconciler(config, kernel);
    expect((await reconciler.reconcile(intent, { resync: true })).every((r) => r.ok)).toBe(true);
    await reconciler.reconcile(intent, change);
    const commands = async (next: L2HostIntent, kind: { resync: boolean }): Promise<string[]> => {
      const from = kernel.calls.length;
      expect((await reconciler.reconcile(next, kind)).every((r) => r.ok)).toBe(true);
      return mutating(kernel.calls.slice(from));
    };
    expect(await commands(intent, change)).toEqual([]);
    // port3 brought up: its host end, and nothing of the settled ports
    const up = { ...intent, ports: intent.ports.map((p) => (p.id === P3 ? Object.freeze({ ...p, adminStateUp: true }) : p)) };
    expect(await commands(up, change)).toEqual(['ip -n host-a link set dev tapcccc3333000 up']);
    expect(await commands(up, change)).toEqual([]);
    // someone else takes port1's workload end down: not seen until a resync reads it again
    await kernel.run(['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'eth0', 'down']);
    expect(await commands(up, change)).toEqual([]);
    expect(await commands(up, { resync: true })).toEqual(['ip -n wl-vm1 link set dev eth0 up']);
    expect(kernel.link('wl-vm1', 'eth0')?.up).toBe(true);
  });

  it('reads only the workload namespaces a change concerns, and all of them on a resync', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    kernel.addNs('wl-vm3');
    const reconciler = new L2Reconciler(config, kernel);
    expect((await reconciler.reconcile(fixtureIntent, { resync: true })).every((r) => r.ok)).toBe(true);
    // what a pass changed is read once more by the next
    let from = kernel.calls.length;
    await reconciler.reconcile(fixtureIntent, change);
    expect(readBack(kernel, from)).toEqual(['wl-vm1', 'wl-vm2']);

    from = kernel.calls.length;
    const withP4 = { ...fixtureIntent, ports: [...fixtureIntent.ports, l2Port(P4, N1, 'fa:16:3e:00:01:04', 'wl-vm3')] };
    expect((await reconciler.reconcile(withP4, change)).every((r) => r.ok)).toBe(true);
    expect(readBack(kernel, from)).toEqual(['wl-vm3']);
    expect(fdbReads(kernel, from)).toBe(0);
    expect(kernel.link('wl-vm3', 'eth0')?.up).toBe(true);

    // the last pass changed wl-vm3: read once more, then nothing
    from = kernel.calls.length;
    await reconciler.reconcile(withP4, change);
    expect(readBack(kernel, from)).toEqual(['wl-vm3']);
    from = kernel.calls.length;
    await reconciler.reconcile(withP4, change);
    expect(readBack(kernel, from)).toEqual([]);

    from = kernel.calls.length;
    await reconciler.reconcile(withP4, { resync: true });
    expect(readBack(kernel, from)).toEqual(['wl-vm1', 'wl-vm2', 'wl-vm3']);
    expect(fdbReads(kernel, from)).toBe(1);
  });

  it('with a resync slice, reads the host whole on a resync and the workload namespaces a slice per periodic pass, each in turn', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    kernel.addNs('wl-vm3');
    const withP4 = { ...fixtureIntent, ports: [...fixtureIntent.ports, l2Port(P4, N1, 'fa:16:3e:00:01:04', 'wl-vm3')] };
    const periodic = { resync: false, periodic: true };
    const reconciler = new L2Reconciler(config, kernel, { resyncSlice: 1 });
    // the first pass holds nothing: it reads everything, and leaves nothing to read in slices
    await reconciler.reconcile(withP4, { resync: true });
    expect(reconciler.resyncing).toBe(false);
    await reconciler.reconcile(withP4, change);
    let from = kernel.calls.length;
    await reconciler.reconcile(withP4, periodic);
    expect(readBack(kernel, from)).toEqual([]);

    // someone else takes a port's interface down where the slices come last
    await kernel.run(['ip', '-n', 'wl-vm3', 'link', 'set', 'dev', 'eth0', 'down']);
    const slices: string[][] = [];
    const pass = async (kind: { resync: boolean; periodic?: boolean }) => {
      const at = kernel.calls.length;
      await reconciler.reconcile(withP4, kind);
      slices.push(readBack(kernel, at));
    };
    from = kernel.calls.length;
    await pass({ resync: true });
    expect(fdbReads(kernel, from)).toBe(1);
    expect(reconciler.resyncing).toBe(true);
    await pass(periodic);
    // a resync that comes while slices are left keeps their turn: the queue is not started over
    await pass({ resync: true });
    await pass(periodic);
    // changes (binds) take no slice, but the fourth in a row does
    for (let i = 0; i < 4; i++) await pass(change);
    expect(slices).toEqual([[], ['wl-vm1'], [], ['wl-vm2'], [], [], [], ['wl-vm3']]);
    expect(kernel.link('wl-vm3', 'eth0')?.up).toBe(true);
    // wl-vm3 changed: read once more; the second resync queued wl-vm1 again, behind the others
    slices.length = 0;
    await pass(change);
    await pass(periodic);
    expect(reconciler.resyncing).toBe(false);
    await pass(periodic);
    expect(slices).toEqual([['wl-vm3'], ['wl-vm1'], []]);
  });

  it('repairs what someone else changed in a workload namespace at the next resync, and not before', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    const reconciler = new L2Reconciler(config, kernel);
    await reconciler.reconcile(fixtureIntent, { resync: true });
    await reconciler.reconcile(fixtureIntent, change);
    await kernel.run(['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'eth0', 'down']);

    const recorder = new RecordingRunner(kernel);
    const quiet = new L2Reconciler(config, recorder);
    await quiet.reconcile(fixtureIntent, { resync: true });
    expect(recorder.mutatingCalls()).toEqual([['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'eth0', 'up']]);
    await quiet.reconcile(fixtureIntent, change);
    await kernel.run(['ip', '-n', 'wl-vm1', 'link', 'set', 'dev', 'eth0', 'down']);
    await quiet.reconcile(fixtureIntent, change);
    await quiet.reconcile(fixtureIntent, change);
    expect(recorder.mutatingCalls()).toHaveLength(1);
    await quiet.reconcile(fixtureIntent, { resync: true });
    expect(recorder.mutatingCalls()).toHaveLength(2);
    expect(kernel.link('wl-vm1', 'eth0')?.up).toBe(true);
  });

  it('plugs a new port into the interface name a deleted port left', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    const reconciler = new L2Reconciler(config, kernel);
    await reconciler.reconcile(fixtureIntent, { resync: true });
    const withoutP1 = { ...fixtureIntent, ports: [port2] };
    const reused = { ...fixtureIntent, ports: [port2, l2Port(P4, N1, 'fa:16:3e:00:01:04', 'wl-vm1')] };
    expect((await reconciler.reconcile(withoutP1, change)).every((r) => r.ok)).toBe(true);
    expect(kernel.link('wl-vm1', 'eth0')).toBeUndefined();
    expect((await reconciler.reconcile(reused, change)).every((r) => r.ok)).toBe(true);
    expect(kernel.link('wl-vm1', 'eth0')?.address).toBe('fa:16:3e:00:01:04');
  });

  it('plugs a refused port once what was in its way is gone, without a resync', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    kernel.addNs('wl-vm1');
    await kernel.run(['ip', '-n', 'wl-vm1', 'link', 'add', 'eth0', 'type', 'bridge']);
    const reconciler = new L2Reconciler(config, kernel);
    const refused = await reconciler.reconcile(fixtureIntent, { resync: true });
    expect(refused.find((r) => r.item === `port:${P1}`)).toEqual({
      item: `port:${P1}`,
      ok: false,
      error: expect.stringMatching(/already exists in namespace wl-vm1/),
    });
    await kernel.run(['ip', '-n', 'wl-vm1', 'link', 'del', 'dev', 'eth0']);
    expect(await reconciler.reconcile(fixtureIntent, change)).toContainEqual({ item: `port:${P1}`, ok: true });
    expect(kernel.link('wl-vm1', 'eth0')?.address).toBe(port1.mac);
  });

  it('moves a port to another namespace and back without a resync', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    kernel.addNs('wl-vm3');
    const reconciler = new L2Reconciler(config, kernel);
    await reconciler.reconcile(fixtureIntent, { resync: true });
    const moved = { ...fixtureIntent, ports: [{ ...port1, workload: { netns: 'wl-vm3', ifname: 'eth0' } }, port2] };
    expect((await reconciler.reconcile(moved, change)).every((r) => r.ok)).toBe(true);
    expect([kernel.link('wl-vm1', 'eth0'), kernel.link('wl-vm3', 'eth0')?.address]).toEqual([undefined, port1.mac]);
    expect((await reconciler.reconcile({ ...fixtureIntent, ports: [port1, port2] }, change)).every((r) => r.ok)).toBe(true);
    expect([kernel.link('wl-vm1', 'eth0')?.address, kernel.link('wl-vm3', 'eth0')]).toEqual([port1.mac, undefined]);
  });

  it('finishes a failed step without a resync, and reads the fdb again when a network changed', async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    const reconciler = new L2Reconciler(config, kernel);
    await reconciler.reconcile(fixtureIntent, { resync: true });
    await reconciler.reconcile(fixtureIntent, change);
    const newMac = { ...fixtureIntent, ports: [port1, { ...port2, mac: 'fa:16:3e:00:01:99' }] };
    kernel.failOn.add('ip -n wl-vm2 link set dev eth0 address fa:16:3e:00:01:99');
    let from = kernel.calls.length;
    expect((await reconciler.reconcile(newMac, change)).filter((r) => !r.ok).map((r) => r.item)).toEqual([`port:${P2}`]);
    expect(readBack(kernel, from)).toEqual(['wl-vm2']);
    kernel.failOn.clear();
    from = kernel.calls.length;
    expect((await reconciler.reconcile(newMac, change)).every((r) => r.ok)).toBe(true);
    expect(readBack(kernel, from)).toEqual(['wl-vm2']);
    expect(kernel.link('wl-vm2', 'eth0')?.address).toBe('fa:16:3e:00:01:99');

    from = kernel.calls.length;
    const widened = { ...newMac, networks: [{ ...vxlanNet1, floodList: [...vxlanNet1.floodList, '10.0.0.9'] }, ...fixtureIntent.networks.slice(1)] };
    await reconciler.reconcile(widened, change);
    expect(fdbReads(kernel, from)).toBe(1);
    expect(kernel.fdb('host-a', 'vx-1a2b3c4d').map((e) => e.dst)).toContain('10.0.0.9');
    // the fdb that pass changed is read once more, then no longer
    from = kernel.calls.length;
    await reconciler.reconcile(widened, change);
    await reconciler.reconcile(widened, change);
    expect(fdbReads(kernel, from)).toBe(1);
  });
});

describe('L2Reconciler: what it reads back of the host namespace between resyncs', () => {
  const P4 = 'dddd4444-0000-4000-8000-0000000000d4';
  const change = { resync: false };
  /** the host links a pass read back since `from`: `*` for all of them, else their names */
  const hostReads = (kernel: FakeKernel, from: number) =>
    kernel.calls
      .slice(from)
      .filter((c) => c[0] === 'ip' && c[2] === 'host-a' && c.includes('show'))
      .map((c) => (c.at(-1) === 'show' ? '*' : (c.at(-1) ?? '')))
      .sort();
  const converged = async () => {
    const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
    const reconciler = new L2Reconciler(config, kernel);
    expect((await reconciler.reconcile(fixtureIntent, { resync: true })).every((r) => r.ok)).toBe(true);
    // the links that pass changed are read once more, then none
    await reconciler.reconcile(fixtureIntent, change);
    return { kernel, reconciler };
  };

  it('reads only the links of what changed (one batch), and every link on a resync', async () => {
    const { kernel, reconciler } = await converged();
    let from = kernel.calls.length;
    await reconciler.reconcile(fixtureIntent, change);
    expect(hostReads(kernel, from)).toEqual([]);

    const withP4 = { ...fixtureIntent, ports: [...fixtureIntent.ports, l2Port(P4, N1, 'fa:16:3e:00:01:04', 'wl-vm1', 'eth9')] };
    from = kernel.calls.length;
    const processes = kernel.processes.length;
    expect((await reconciler.reconcile(withP4, change)).every((r) => r.ok)).toBe(true);
    // its tap (which does not exist yet) and its network's bridge, in one process
    expect(hostReads(kernel, from)).toEqual(['br-1a2b3c4d', 'tapdddd4444000']);
    expect(kernel.processes.slice(processes).filter((p) => p.includes('-force'))).toEqual([['ip', '-n', 'host-a', '-j', '-d', '-force', '-batch', '-']]);
    expect(kernel.link('host-a', 'tapdddd4444000')).toMatchObject({ master: 'br-1a2b3c4d', up: true });

    from = kernel.calls.length;
    await reconciler.reconcile(withP4, change);
    expect(hostReads(kernel, from)).toEqual(['br-1a2b3c4d', 'tapdddd4444000']);
    from = kernel.calls.length;
    await reconciler.reconcile(withP4, change);
    expect(hostReads(kernel, from)).toEqual([]);

    from = kernel.calls.length;
    await reconciler.reconcile(withP4, { resync: true });
    expect(hostReads(kernel, from)).toEqual(['*']);
  });

  it('repairs what someone else changed on the host at the next resync, and not before', async () => {
    const { kernel } = await converged();
    const recorder = new RecordingRunner(kernel);
    const quiet = new L2Reconciler(config, recorder);
    await quiet.reconcile(fixtureIntent, { resync: true });
    await quiet.reconcile(fixtureIntent, change);
    await kernel.run(['ip', '-n', 'host-a', 'link', 'set', 'dev', 'tapaaaa1111000', 'nomaster']);
    await quiet.reconcile(fixtureIntent, change);
    expect(recorder.mutatingCalls()).toEqual([]);
    await quiet.reconcile(fixtureIntent, { resync: true });
    expect(recorder.mutatingCalls()).toEqual([['ip', '-n', 'host-a', 'link', 'set', 'dev', 'tapaaaa1111000', 'master', 'br-1a2b3c4d']]);
  });

  it('sees what its sweep removed: a network and a port put back without a resync are built again', async () => {
    const { kernel, reconciler } = await converged();
    const without = { networks: fixtureIntent.networks.filter((n) => n.id !== N3), ports: [port1, port3] };
    expect((await reconciler.reconcile(without, change)).every((r) => r.ok)).toBe(true);
    expect([kernel.link('host-a', 'br-3c4d5e6f'), kernel.link('host-a', 'tapbbbb2222000'), kernel.link('host-a', 'eth1')?.master]).toEqual([
      undefined,
      undefined,
      null,
    ]);
    expect((await reconciler.reconcile(fixtureIntent, change)).every((r) => r.ok)).toBe(true);
    expect(kernel.link('host-a', 'eth1')?.master).toBe('br-3c4d5e6f');
    expect(kernel.link('host-a', 'tapbbbb2222000')?.master).toBe('br-3c4d5e6f');
    expect(kernel.link('wl-vm2', 'eth0')?.address).toBe(port2.mac);
    // and a resync finds nothing left to do
    const recorder = new RecordingRunner(kernel);
    await new L2Reconciler(config, recorder).reconcile(fixtureIntent, { resync: true });
    expect(recorder.mutatingCalls()).toEqual([]);
  });

  it('tells which namespaces a pass changed', async () => {
    const { kernel, reconciler } = await converged();
    await reconciler.reconcile(fixtureIntent, change);
    expect(reconciler.changedNamespaces).toEqual(new Set());
    const withP4 = { ...fixtureIntent, ports: [...fixtureIntent.ports, l2Port(P4, N1, 'fa:16:3e:00:01:04', 'wl-vm3')] };
    await reconciler.reconcile(withP4, change);
    expect(reconciler.changedNamespaces).toEqual(new Set(['wl-vm3']));
    // moved: out of one namespace, into another
    const moved = { ...withP4, ports: [port1, port2, port3, l2Port(P4, N1, 'fa:16:3e:00:01:04', 'wl-vm4')] };
    await reconciler.reconcile(moved, change);
    expect(reconciler.changedNamespaces).toEqual(new Set(['wl-vm3', 'wl-vm4']));
    // swept: the removed port's namespace and the host's
    await reconciler.reconcile(fixtureIntent, change);
    expect(reconciler.changedNamespaces).toEqual(new Set(['wl-vm4', 'host-a']));
    const widened = { ...fixtureIntent, networks: [{ ...vxlanNet1, floodList: [...vxlanNet1.floodList, '10.0.0.9'] }, ...fixtureIntent.networks.slice(1)] };
    await reconciler.reconcile(widened, change);
    expect(reconciler.changedNamespaces).toEqual(new Set(['host-a']));
    kernel.failOn.add('ip -j netns list');
    await reconciler.reconcile(fixtureIntent, change);
    expect(reconciler.changedNamespaces).toBeUndefined();
  });

  it('fails every item when the batch read fails for another reason than a missing link, and then reads everything', async () => {
    const { kernel, reconciler } = await converged();
    const withP4 = { ...fixtureIntent, ports: [...fixtureIntent.ports, l2Port(P4, N1, 'fa:16:3e:00:01:04', 'wl-vm1', 'eth9')] };
    kernel.failOn.add('ip -n host-a -j -d -force link show dev br-1a2b3c4d');
    const failed = await reconciler.reconcile(withP4, change);
    expect(failed.every((r) => !r.ok && /reading the host state failed: .*injected failure/.test(r.error))).toBe(true);
    expect(mutating(kernel.calls.slice(-20))).toEqual([]);
    kernel.failOn.clear();
    const from = kernel.calls.length;
    expect((await reconciler.reconcile(withP4, change)).every((r) => r.ok)).toBe(true);
    expect(hostReads(kernel, from)).toEqual(['*']);
  });
});

describe('applyL2', () => {
  it('stops a failing item and runs the others', async () => {
    const kernel = new FakeKernel(null);
    kernel.failOn.add('x 2');
    const results = await applyL2(
      [
        { item: 'network:a', argv: ['x', '1'], why: 'one' },
        { item: 'network:b', argv: ['x', '2'], why: 'two' },
        { item: 'network:a', argv: ['ip', 'netns', 'add', 'ns1'], why: 'three' },
        { item: 'network:b', argv: ['ip', 'netns', 'add', 'ns2'], why: 'four' },
      ],
      {
        run: async (argv) => (argv[0] === 'x' && argv[1] === '1' ? { stdout: '' } : kernel.run(argv)),
      },
    );
    expect(results).toEqual([
      { item: 'network:a', ok: true, applied: 2 },
      { item: 'network:b', ok: false, applied: 0, error: 'two: x 2: injected failure', failedStep: { item: 'network:b', argv: ['x', '2'], why: 'two' } },
    ]);
    // in plan order, not item by item: network:b's second step never ran
    expect(kernel.calls.map((c) => c.join(' '))).toEqual(['x 2', 'ip netns add ns1']);
  });
});
