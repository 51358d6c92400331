import { type ResourceReport } from '@ncp/contracts';
import { createLogger } from '@ncp/nest-common';
import { afterEach, describe, expect, it } from 'vitest';
import { ReconcileLoop, type Clock, type Pass } from './loop';
import { Manager, type ManagerSpec } from './manager';
import { type DriverResult } from './reports';

/** Time that moves only when the test says so; sleepers wake in time order. */
class FakeClock implements Clock {
  private t = 0;
  private sleepers: { at: number; wake: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      const sleeper = {
        at: this.t + ms,
        wake: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal.addEventListener('abort', onAbort);
    });
  }

  /** Moves time on by `ms`, waking each sleeper at its time and letting what it starts run. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      const next = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.t = next.at;
      next.wake();
      await settle();
    }
    this.t = target;
  }
}

/** Lets every promise the fake drivers and the loop chain run (they never wait for I/O). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A fake driver: one item per id, reported ACTIVE, or ERROR with what it returned or threw. */
class FakeDriver {
  ids = ['1'];
  calls = 0;
  /** the `resync` flag of each pass */
  resyncs: boolean[] = [];
  /** the `periodic` flag of each pass */
  periodics: boolean[] = [];
  /** what each pass was told the managers before it changed (sorted; undefined: not known) */
  changedBefore: (string[] | undefined)[] = [];
  throws: string | undefined;
  failsItem: string | undefined;

  constructor(
    readonly name: string,
    readonly kinds: readonly string[],
    public extra: Partial<ManagerSpec<string[], DriverResult>> = {},
  ) {}

  spec(): ManagerSpec<string[], DriverResult> {
    return {
      name: this.name,
      kinds: this.kinds,
      desired: () => ({ intent: [...this.ids], invalid: [] }),
      apply: async (ids, pass) => {
        this.calls++;
        this.resyncs.push(pass.resync);
        this.periodics.push(pass.periodic);
        this.changedBefore.push(pass.changedBefore && [...pass.changedBefore].sort());
        if (this.throws !== undefined) throw new Error(this.throws);
        return ids.map((id): DriverResult =>
          `${this.name}:${id}` === this.failsItem ? { item: this.failsItem, ok: false, error: 'EEXIST' } : { item: `${this.name}:${id}`, ok: true },
        );
      },
      failed: (ids, error) => ids.map((id) => ({ item: `${this.name}:${id}`, ok: false, error })),
      reports: (_ids, results) =>
        results.map((r): ResourceReport => ({
          kind: 'router',
          id: r.item,
          networkId: null,
          status: r.ok ? 'ACTIVE' : 'ERROR',
          reason: r.ok ? 'configured' : r.error,
        })),
      ...this.extra,
    };
  }
}

const SETTLE_MS = 20;
const RESYNC_MS = 60_000;

let loop: ReconcileLoop | undefined;

afterEach(async () => {
  await loop?.stop();
  loop = undefined;
});

function start(drivers: FakeDriver[], clock: FakeClock, reported: () => boolean = () => true) {
  const passes: Pass[] = [];
  /** `<manager> ended`, in the order the loop told, with the calls of every driver at that time */
  const ended: string[] = [];
  const managers = drivers.map((d) => new Manager(d.spec(), createLogger('test', 'silent')));
  loop = new ReconcileLoop(managers, clock, {
    resyncMs: RESYNC_MS,
    settleMs: SETTLE_MS,
    afterPass: async (pass) => {
      passes.push(pass);
      return reported();
    },
    afterManager: (m) => ended.push(`${m.name} ended, calls ${drivers.map((d) => d.calls).join('/')}`),
  });
  loop.start();
  const ranIn = (pass: Pass | undefined) => pass?.ran.map((m) => m.name);
  const reportsOf = (name: string) => managers.find((m) => m.name === name)?.outcome.reports;
  return { passes, ended, managers, ranIn, reportsOf, loop };
}

describe('the reconcile loop and its managers', () => {
  it('runs nothing before the initial desired state is there, then every manager once', async () => {
    const clock = new FakeClock();
    const [l2, l3] = [new FakeDriver('l2', ['l2port']), new FakeDriver('l3', ['router'])];
    const { passes, ranIn, loop } = start([l2, l3], clock);
    await clock.advance(10_000);
    expect(passes).toEqual([]);
    loop.ready();
    await clock.advance(SETTLE_MS - 1);
    expect(passes).toEqual([]);
    await clock.advance(1);
    expect(passes.map(ranIn)).toEqual([['l2', 'l3']]);
    expect([l2.calls, l3.calls]).toEqual([1, 1]);
  });

  it('tells as each manager of a pass ends, before the next one runs', async () => {
    const clock = new FakeClock();
    const drivers = [new FakeDriver('l2', ['l2port']), new FakeDriver('secgroups', ['sg'], { after: ['l2'] }), new FakeDriver('l3', ['router'])];
    const { passes, ended, loop } = start(drivers, clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    expect(ended).toEqual(['l2 ended, calls 1/0/0', 'secgroups ended, calls 1/1/0', 'l3 ended, calls 1/1/1']);
    loop.changed('l2port');
    await clock.advance(SETTLE_MS);
    expect(ended.slice(3)).toEqual(['l2 ended, calls 2/1/1', 'secgroups ended, calls 2/2/1']);
    expect(passes).toHaveLength(2);
  });

  it('keeps running the other drivers when one throws, and reports its resources as failed', async () => {
    const clock = new FakeClock();
    const [l2, l3, bgp] = [new FakeDriver('l2', ['l2port']), new FakeDriver('l3', ['router']), new FakeDriver('bgp', ['bgp'])];
    l2.throws = 'ip: cannot talk to the kernel';
    const { passes, ranIn, reportsOf, loop } = start([l2, l3, bgp], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    expect(passes.map(ranIn)).toEqual([['l2', 'l3', 'bgp']]);
    expect([l3.calls, bgp.calls]).toEqual([1, 1]);
    expect(reportsOf('l2')).toEqual([
      { kind: 'router', id: 'l2:1', networkId: null, status: 'ERROR', reason: 'l2 driver failed: ip: cannot talk to the kernel' },
    ]);
    expect(reportsOf('l3')).toEqual([{ kind: 'router', id: 'l3:1', networkId: null, status: 'ACTIVE', reason: 'configured' }]);
  });

  it('retries a failing manager alone after a backoff that doubles, and resets it once it succeeds', async () => {
    const clock = new FakeClock();
    const [l2, l3] = [new FakeDriver('l2', ['l2port']), new FakeDriver('l3', ['router'])];
    l3.failsItem = 'l3:1';
    const { passes, ranIn, reportsOf, managers, loop } = start([l2, l3], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    expect(reportsOf('l3')?.[0]).toMatchObject({ status: 'ERROR', reason: 'EEXIST' });
    expect(managers[1]?.outcome.failed).toEqual(['l3:1']);
    // the first retry 0.5 s after the failed pass (plus the settle before every pass)
    await clock.advance(499);
    expect(passes).toHaveLength(1);
    await clock.advance(1 + SETTLE_MS);
    expect(passes.map(ranIn)).toEqual([['l2', 'l3'], ['l3']]);
    // then 1 s after that one
    await clock.advance(999);
    expect(passes).toHaveLength(2);
    l3.failsItem = undefined;
    await clock.advance(1 + SETTLE_MS);
    expect(passes.map(ranIn)).toEqual([['l2', 'l3'], ['l3'], ['l3']]);
    expect(reportsOf('l3')?.[0]).toMatchObject({ status: 'ACTIVE', reason: 'configured' });
    expect(managers[1]?.failing).toBe(0);
    // converged: nothing runs until the resync
    await clock.advance(RESYNC_MS - 2_000);
    expect(passes).toHaveLength(3);
    expect([l2.calls, l3.calls]).toEqual([1, 3]);
  });

  it('runs only the managers of the kinds that changed, and those that build on them', async () => {
    const clock = new FakeClock();
    const l2 = new FakeDriver('l2', ['l2net', 'l2port']);
    const l3 = new FakeDriver('l3', ['router'], { after: ['l2'] });
    const bgp = new FakeDriver('bgp', ['bgp']);
    const { passes, ranIn, loop } = start([l2, l3, bgp], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    loop.changed('bgp');
    await clock.advance(SETTLE_MS);
    loop.changed('router');
    await clock.advance(SETTLE_MS);
    loop.changed('l2port');
    await clock.advance(SETTLE_MS);
    // a burst of changes within the settle time: one pass
    loop.changed('bgp');
    await clock.advance(SETTLE_MS / 2);
    loop.changed('router');
    await clock.advance(SETTLE_MS);
    loop.changed('no-such-kind');
    await clock.advance(SETTLE_MS);
    expect(passes.map(ranIn)).toEqual([['l2', 'l3', 'bgp'], ['bgp'], ['l3'], ['l2', 'l3'], ['l3', 'bgp']]);
  });

  it('runs a manager after another only when that one changed one of its namespaces, or cannot tell', async () => {
    const clock = new FakeClock();
    let changed: ReadonlySet<string> | undefined = new Set(['qrouter-1', 'vm-1']);
    const l2 = new FakeDriver('l2', ['l2port'], { changedNamespaces: () => changed });
    const l3 = new FakeDriver('l3', ['router'], { after: ['l2'], namespaces: () => ['qrouter-1'] });
    // no namespaces of its own: it follows every pass of L2
    const secgroups = new FakeDriver('secgroups', ['sg'], { after: ['l2'] });
    const { passes, ranIn, loop } = start([l2, secgroups, l3], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    for (const next of [new Set(['vm-1']), new Set<string>(), new Set(['qrouter-1']), undefined]) {
      changed = next;
      loop.changed('l2port');
      await clock.advance(SETTLE_MS);
    }
    expect(passes.map(ranIn)).toEqual([
      ['l2', 'secgroups', 'l3'],
      ['l2', 'secgroups'],
      ['l2', 'secgroups'],
      ['l2', 'secgroups', 'l3'],
      ['l2', 'secgroups', 'l3'],
    ]);
    // a driver that threw may have changed anything
    changed = new Set(['vm-1']);
    l2.throws = 'boom';
    loop.changed('l2port');
    await clock.advance(SETTLE_MS);
    expect(ranIn(passes.at(-1))).toEqual(['l2', 'secgroups', 'l3']);
    // each was told what L2 changed in its pass (the first one's: it made nothing here yet)
    expect(l3.changedBefore).toEqual([['qrouter-1', 'vm-1'], ['qrouter-1'], undefined, undefined]);
    // a pass of its own, with none of those it comes after: nothing changed before it
    l2.throws = undefined;
    loop.changed('router');
    await clock.advance(SETTLE_MS);
    expect(l3.changedBefore.at(-1)).toEqual([]);
  });

  it('runs a periodic manager alone every period, marked as a read-back, and every manager at the resync', async () => {
    const clock = new FakeClock();
    const l2 = new FakeDriver('l2', ['l2port']);
    const bgp = new FakeDriver('bgp', ['bgp'], { periodMs: 5_000 });
    const { passes, ranIn, loop } = start([l2, bgp], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    await clock.advance(5_000 + SETTLE_MS);
    expect(passes.map(ranIn)).toEqual([['l2', 'bgp'], ['bgp']]);
    expect(passes.map((p) => p.periodicOnly)).toEqual([false, true]);
    await clock.advance(RESYNC_MS);
    expect(passes.filter((p) => !p.periodicOnly).map(ranIn)).toEqual([
      ['l2', 'bgp'],
      ['l2', 'bgp'],
    ]);
  });

  it('tells a driver which passes must read the kernel whole: the first, the resyncs, not a change or a retry', async () => {
    const clock = new FakeClock();
    const l2 = new FakeDriver('l2', ['l2port']);
    const l3 = new FakeDriver('l3', ['router'], { after: ['l2'] });
    const { loop } = start([l2, l3], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    loop.changed('l2port');
    await clock.advance(SETTLE_MS);
    l2.failsItem = 'l2:1';
    loop.changed('l2port');
    await clock.advance(SETTLE_MS);
    l2.failsItem = undefined;
    await clock.advance(1_000);
    loop.resync();
    await clock.advance(SETTLE_MS);
    loop.changed('router');
    await clock.advance(RESYNC_MS);
    expect(l2.resyncs).toEqual([true, false, false, false, true, true]);
    expect(l3.resyncs).toEqual([true, false, false, false, true, false, true]);
  });

  it('asks a manager for its period once its pass is done: a pass that leaves work (a resync read in slices) is followed by another', async () => {
    const clock = new FakeClock();
    // as the L2 driver: a resync leaves slices to read, one per pass, each pass soon after the last
    let slicesLeft = 0;
    const l2 = new FakeDriver('l2', ['l2port'], { periodFor: () => (slicesLeft > 0 ? 200 : undefined) });
    const apply = l2.spec().apply;
    l2.extra = {
      ...l2.extra,
      apply: async (ids, pass) => {
        slicesLeft = pass.resync ? 2 : Math.max(0, slicesLeft - 1);
        return apply(ids, pass);
      },
    };
    const { passes, loop } = start([l2], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    // the first pass is a resync: two slices follow, 200 ms apart, then nothing until the next resync
    await clock.advance(3 * (200 + SETTLE_MS));
    expect(l2.resyncs).toEqual([true, false, false]);
    // the driver is told: what it does in a pass may depend on it (L2 reads slices in these)
    expect(l2.periodics).toEqual([false, true, true]);
    expect(passes.map((p) => p.periodicOnly)).toEqual([false, true, true]);
    await clock.advance(RESYNC_MS / 2);
    expect(l2.calls).toBe(3);
  });

  it("runs a manager whose period depends on its intent periodically only while its last pass' intent asks for it", async () => {
    const clock = new FakeClock();
    // periodic while some router is HA ('ha-' ids here), as the L3 manager is
    const l3 = new FakeDriver('l3', ['router'], { periodFor: (ids) => (ids.some((id) => id.startsWith('ha-')) ? 5_000 : undefined) });
    const { passes, ranIn, loop } = start([l3], clock);
    loop.ready();
    await clock.advance(SETTLE_MS);
    await clock.advance(3 * (5_000 + SETTLE_MS));
    expect(passes.map(ranIn)).toEqual([['l3']]);
    l3.ids = ['1', 'ha-2'];
    loop.changed('router');
    await clock.advance(SETTLE_MS);
    await clock.advance(5_000 + SETTLE_MS);
    expect(passes.map(ranIn)).toEqual([['l3'], ['l3'], ['l3']]);
    expect(passes.map((p) => p.periodicOnly)).toEqual([false, false, true]);
    l3.ids = ['1'];
    loop.changed('router');
    await clock.advance(SETTLE_MS);
    await clock.advance(3 * (5_000 + SETTLE_MS));
    expect(passes).toHaveLength(4);
  });

  it('tries a failed report again after a backoff without running the drivers', async () => {
    const clock = new FakeClock();
    const l2 = new FakeDriver('l2', ['l2port']);
    let recordable = false;
    const { passes, ranIn, loop } = start([l2], clock, () => recordable);
    loop.ready();
    await clock.advance(SETTLE_MS);
    await clock.advance(499);
    expect(passes).toHaveLength(1);
    recordable = true;
    await clock.advance(1);
    expect(passes.map(ranIn)).toEqual([['l2'], []]);
    await clock.advance(10_000);
    expect(passes).toHaveLength(2);
    expect(l2.calls).toBe(1);
  });
});
