import { describe, expect, it } from 'vitest';
import { RecordingRunner, isReadOnlyCommand } from '../runner.js';
import { FakeKernel } from './__fixtures__/fake-kernel.js';
import { N1, N2, N3, N4, P1, P2, P3, config, emptyHost, fixtureIntent, port1, vxlanNet1 } from './__fixtures__/intent.js';
import { applyL2 } from './apply.js';
import { planL2 } from './plan.js';
import { reconcileL2 } from './reconcile.js';

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
