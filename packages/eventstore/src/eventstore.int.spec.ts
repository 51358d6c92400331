import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConcurrencyError,
  ConflictError,
  EventRegistry,
  TooLargeError,
  ValidationError,
  Naming,
  defineEvent,
  type CommandMetadata,
  type RecordedEvent,
} from '@ncp/contracts';
import { testInfra, uniqueName } from '@ncp/testing';
import {
  AggregateRepository,
  InMemorySnapshotStore,
  JetStreamEventStore,
  ProjectionRunner,
  connectNats,
  type Decider,
  type NatsConnection,
  type ProjectionStore,
} from './index';

// A toy aggregate: a counter that refuses to go above a limit.
const Incremented = defineEvent('Incremented', z.object({ by: z.number().int() }));
// Version 1 of Reset had no reason; the upcaster supplies one.
const Reset = defineEvent('Reset', z.object({ reason: z.string() }), [{ version: 1, schema: z.object({}), upcast: () => ({ reason: 'unknown' }) }]);
// Free text, as a request would carry it into an event.
const Noted = defineEvent('Noted', z.object({ text: z.string(), extra: z.record(z.string(), z.unknown()) }));
type CounterEvent = { type: 'Incremented'; data: { by: number } } | { type: 'Reset'; data: { reason: string } };
type CounterCommand = { type: 'Increment'; by: number } | { type: 'Reset' };
interface CounterState {
  value: number;
}

const counter: Decider<CounterState, CounterCommand, CounterEvent> = {
  context: 'test',
  aggregate: 'counter',
  initialState: () => ({ value: 0 }),
  evolve: (s, e) => {
    switch (e.type) {
      case 'Incremented':
        return { value: s.value + e.data.by };
      case 'Reset':
        return { value: 0 };
    }
  },
  decide: (c, s) => {
    switch (c.type) {
      case 'Increment':
        if (s.value + c.by > 1000) throw new ConflictError('TEST.LIMIT', 'over the limit');
        return [{ type: 'Incremented', data: { by: c.by } }];
      case 'Reset':
        return s.value === 0 ? [] : [{ type: 'Reset', data: { reason: 'asked' } }];
    }
  },
  snapshot: { version: 1, every: 3, toJSON: (s) => s, fromJSON: (j) => j as CounterState },
};

const meta: CommandMetadata = {
  now: '2026-01-01T00:00:00Z',
  correlationId: 'c1',
  causationId: null,
  projectId: 'p1',
  actor: 'test',
  isAdmin: false,
};

describe('JetStream event store', () => {
  let nc: NatsConnection;
  let store: JetStreamEventStore;
  const naming = new Naming({ prefix: uniqueName() });

  beforeAll(async () => {
    const infra = await testInfra();
    nc = await connectNats(infra.natsUrl, 'eventstore-test');
    store = new JetStreamEventStore(nc, naming, new EventRegistry([Incremented, Reset, Noted]));
    await store.ensureStream();
    // A second call updates the existing stream rather than failing.
    await store.ensureStream();
  });

  afterAll(async () => {
    await store.deleteStream();
    await nc.close();
  });

  it('appends conditionally on the aggregate sequence and deduplicates by event id', async () => {
    const subject = naming.eventSubject('test', 'counter', 'a1');
    const e1 = store.envelope({ type: 'Incremented', data: { by: 1 } }, 'counter', 'a1', meta);
    const r1 = await store.append(subject, e1, 0);
    expect(r1.duplicate).toBe(false);
    // The same event again (a retried append) is recognised, not stored twice.
    // JetStream answers a repeated message id with the original's sequence, before
    // checking the expectation, so a retry after a lost acknowledgement succeeds.
    expect(await store.append(subject, e1, 0)).toEqual({ sequence: r1.sequence, duplicate: true });
    const e2 = store.envelope({ type: 'Incremented', data: { by: 2 } }, 'counter', 'a1', meta);
    await expect(store.append(subject, e2, 0)).rejects.toBeInstanceOf(ConcurrencyError);
    const r2 = await store.append(subject, e2, r1.sequence);
    expect(r2.sequence).toBeGreaterThan(r1.sequence);
    expect(await store.lastSequence(subject)).toBe(r2.sequence);
    const read: RecordedEvent[] = [];
    for await (const e of store.read(subject, 1)) read.push(e);
    expect(read.map((e) => e.envelope.data)).toEqual([{ by: 1 }, { by: 2 }]);
    expect(read[0]?.envelope.correlationId).toBe('c1');
  });

  it('refuses, before appending, an event no projection could store or larger than the server takes', async () => {
    const subject = naming.eventSubject('test', 'note', 'n1');
    const note = (text: string, extra: Record<string, unknown> = {}) => store.envelope({ type: 'Noted', data: { text, extra } }, 'note', 'n1', meta);
    const before = await store.streamLastSequence();
    const maxPayload = nc.info?.max_payload ?? 0;
    expect(maxPayload).toBeGreaterThan(0);
    const refused: [string, ReturnType<typeof note>, new (...args: never[]) => Error][] = [
      ['a NUL in a string', note('a\u0000b'), ValidationError],
      ['a lone high surrogate', note('x\uD800'), ValidationError],
      ['a lone low surrogate deep in a map', note('ok', { a: [{ b: '\uDC00' }] }), ValidationError],
      ['a NUL in a key', note('ok', { 'k\u0000': 1 }), ValidationError],
      ['an event over max_payload', note('x'.repeat(maxPayload)), TooLargeError],
    ];
    for (const [what, envelope, error] of refused) {
      await expect(store.append(subject, envelope, 0), what).rejects.toBeInstanceOf(error);
    }
    expect(await store.streamLastSequence()).toBe(before);
    // Paired surrogates (an emoji) and other text are fine.
    await store.append(subject, note('\uD83D\uDE00 \u0001 é'), 0);
    expect(await store.streamLastSequence()).toBe(before + 1);
  });

  it('upcasts old event versions when reading', async () => {
    const subject = naming.eventSubject('test', 'counter', 'old');
    const old = { ...store.envelope({ type: 'Incremented', data: { by: 1 } }, 'counter', 'old', meta), type: 'Reset', schemaVersion: 1, data: {} };
    await store.append(subject, old, 0);
    const read: RecordedEvent[] = [];
    for await (const e of store.read(subject, 1)) read.push(e);
    expect(read[0]?.envelope).toMatchObject({ type: 'Reset', schemaVersion: 2, data: { reason: 'unknown' } });
  });

  it('rejects events whose data does not match their schema', () => {
    expect(() => store.envelope({ type: 'Incremented', data: { by: 'x' } }, 'counter', 'a', meta)).toThrow(/invalid/);
  });

  it('runs commands, retries on conflicts between two writers, and snapshots', async () => {
    const snapshots = new InMemorySnapshotStore();
    const a = new AggregateRepository(store, counter, { snapshots });
    const b = new AggregateRepository(store, counter, { snapshots });
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).execute('c1', { type: 'Increment', by: 1 }, meta)));
    expect((await a.load('c1')).state.value).toBe(10);
    expect((await b.load('c1')).state.value).toBe(10);
    expect(snapshots.saved.get(a.subject('c1'))?.version).toBe(1);
    // A fresh repository starts from the snapshot and catches up with newer events.
    const fresh = new AggregateRepository(store, counter, { snapshots });
    expect((await fresh.load('c1')).state.value).toBe(10);
    // A refusal changes nothing; a no-op appends nothing.
    await expect(a.execute('c1', { type: 'Increment', by: 5000 }, meta)).rejects.toBeInstanceOf(ConflictError);
    const seq = (await a.load('c1')).sequence;
    await a.execute('c2', { type: 'Reset' }, meta);
    expect(await store.lastSequence(a.subject('c2'))).toBe(0);
    expect((await a.load('c1')).sequence).toBe(seq);
  });

  it('lets two busy writers of one aggregate (two replicas) both through, however often they collide', async () => {
    // each replica serialises its own commands; across replicas every append races the other's
    const replicas = [new AggregateRepository(store, counter), new AggregateRepository(store, counter)];
    const perReplica = 40;
    const results = await Promise.allSettled(
      replicas.flatMap((r) => Array.from({ length: perReplica }, () => r.execute('contended', { type: 'Increment', by: 1 }, meta))),
    );
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(refused).toEqual([]);
    expect((await new AggregateRepository(store, counter).load('contended')).state.value).toBe(2 * perReplica);
  });

  it('projects with an exactly-once checkpoint and rebuilds from sequence 1', async () => {
    const totals = new Map<string, number>();
    let checkpoint = 0;
    const projectionStore: ProjectionStore<Map<string, number>> = {
      async transaction(fn) {
        const draft = new Map(totals);
        const savedCheckpoint = checkpoint;
        try {
          const r = await fn(draft);
          totals.clear();
          for (const [k, v] of draft) totals.set(k, v);
          return r;
        } catch (e) {
          checkpoint = savedCheckpoint;
          throw e;
        }
      },
      async readCheckpoint() {
        return checkpoint;
      },
      async writeCheckpoint(_tx, _name, seq) {
        checkpoint = seq;
      },
      // nothing here fails, so nothing is parked
      park: async () => undefined,
      parked: async () => [],
      unpark: async () => undefined,
    };
    const runner = new ProjectionRunner(
      store,
      {
        name: 'totals',
        filter: naming.eventsOfAggregateType('test', 'counter'),
        apply: async (tx, e) => {
          const by = e.envelope.type === 'Incremented' ? (e.envelope.data as { by: number }).by : 0;
          tx.set(e.envelope.aggregateId, (tx.get(e.envelope.aggregateId) ?? 0) + by);
        },
        reset: async (tx) => tx.clear(),
      },
      projectionStore,
      { instance: 'test' },
    );
    await runner.start();
    const repo = new AggregateRepository(store, counter);
    const r = await repo.execute('p1', { type: 'Increment', by: 7 }, meta);
    await runner.waitFor(r.sequence);
    expect(totals.get('p1')).toBe(7);
    const before = new Map(totals);
    // Restarting resumes from the checkpoint without applying anything twice.
    await runner.stop();
    await runner.start();
    const r2 = await repo.execute('p1', { type: 'Increment', by: 1 }, meta);
    await runner.waitFor(r2.sequence);
    expect(totals.get('p1')).toBe(8);
    // A read barrier: catchUp waits for whatever the stream holds now.
    await repo.execute('p2', { type: 'Increment', by: 3 }, meta);
    await runner.catchUp();
    expect(totals.get('p2')).toBe(3);
    const progress: number[] = [];
    await runner.rebuild((s) => progress.push(s.checkpoint));
    expect(totals.get('p1')).toBe(8);
    expect(totals.get('c1')).toBe(before.get('c1'));
    expect(runner.checkpoint).toBe(checkpoint);
    await runner.stop();
  });
});
