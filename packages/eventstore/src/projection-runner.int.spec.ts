import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { EventRegistry, Naming, defineEvent, type CommandMetadata, type RecordedEvent } from '@ncp/contracts';
import { LossyNatsProxy, PgSqlClient, createTestDatabase, testInfra, uniqueName } from '@ncp/testing';
import {
  ACK_DELAY_MS,
  JetStreamEventStore,
  ProjectionRunner,
  SqlProjectionStore,
  connectNats,
  type NatsConnection,
  type Projection,
  type ProjectionLogger,
} from './index';

/**
 * The runner against real Postgres errors: an event Postgres or the registry refuses is parked
 * alone and the projection goes on; a failure of the database is retried and parks nothing; a
 * sanitising upcaster and a re-apply repair what was parked.
 */

const ThingAdded = defineEvent('ThingAdded', z.object({ id: z.string(), name: z.string(), size: z.number().int() }));
/** What a fix deploys: version 2, and an upcaster from version 1 that makes the data fit the table. */
const SanitisedThingAdded = defineEvent('ThingAdded', z.object({ id: z.string(), name: z.string(), size: z.number().int() }), [
  {
    version: 1,
    schema: ThingAdded.schema,
    upcast: (d) => {
      const data = d as z.infer<typeof ThingAdded.schema>;
      return { ...data, name: data.name.replaceAll('\u0000', ''), size: Math.min(data.size, 2 ** 31 - 1) };
    },
  },
]);

const meta: CommandMetadata = { now: '2026-01-01T00:00:00Z', correlationId: 'c1', causationId: null, projectId: 'p1', actor: 'test', isAdmin: false };

const DDL = [
  'CREATE TABLE projection_checkpoints (name text PRIMARY KEY, sequence bigint NOT NULL, updated_at timestamp(3) NOT NULL)',
  // as every service's migration creates it
  'CREATE TABLE parked_events (projection text, sequence bigint, subject text NOT NULL, type text NOT NULL, schema_version int NOT NULL, error text NOT NULL, parked_at timestamp(3) NOT NULL, PRIMARY KEY (projection, sequence))',
  'CREATE TABLE things (id text PRIMARY KEY, name text NOT NULL, size int NOT NULL)',
];

class Things implements Projection<PgSqlClient> {
  readonly name = 'things';
  /** SET LOCAL lock_timeout before each insert (the outage test holds a lock on the table). */
  lockTimeout = false;
  constructor(readonly filter: string) {}
  async apply(tx: PgSqlClient, e: RecordedEvent): Promise<void> {
    const d = e.envelope.data as { id: string; name: string; size: number };
    if (this.lockTimeout) await tx.$executeRaw`SELECT set_config('lock_timeout', '100ms', true)`;
    await tx.$executeRaw`INSERT INTO things (id, name, size) VALUES (${d.id}, ${d.name}, ${d.size})`;
  }
  async reset(tx: PgSqlClient): Promise<void> {
    await tx.$executeRaw`TRUNCATE things`;
  }
}

/** Log lines by message, and a way to wait for the n-th one. */
class Log implements ProjectionLogger {
  readonly lines: { msg: string; obj: object }[] = [];
  private waiters: { msg: string; n: number; resolve: () => void }[] = [];
  error(obj: object, msg: string): void {
    this.record(obj, msg);
  }
  info(obj: object, msg: string): void {
    this.record(obj, msg);
  }
  count(prefix: string): number {
    return this.lines.filter((l) => l.msg.startsWith(prefix)).length;
  }
  until(prefix: string, n: number): Promise<void> {
    if (this.count(prefix) >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ msg: prefix, n, resolve }));
  }
  private record(obj: object, msg: string): void {
    this.lines.push({ msg, obj });
    for (const w of this.waiters.filter((x) => this.count(x.msg) >= x.n)) w.resolve();
  }
}

/** A stream of its own (a fresh prefix), a fresh database with the projection's tables, and a way to drop both. */
async function testBed(client: string) {
  const infra = await testInfra();
  const naming = new Naming({ prefix: uniqueName() });
  const nc = await connectNats(infra.natsUrl, client);
  const store = new JetStreamEventStore(nc, naming, new EventRegistry([ThingAdded]));
  await store.ensureStream();
  const db = await createTestDatabase(infra.databaseUrl);
  const sql = PgSqlClient.connect(db.url);
  for (const statement of DDL) await sql.exec(statement);
  const close = async () => {
    await sql.$disconnect();
    await db.drop();
    await store.deleteStream();
    await nc.close();
  };
  /** A thing appended as a service would, through the registry's validation. */
  const add = async (id: string, name = id) =>
    (await store.append(naming.eventSubject('test', 'thing', id), store.envelope({ type: 'ThingAdded', data: { id, name, size: 1 } }, 'thing', id, meta), 0))
      .sequence;
  /** Appends a thing of each id by eight writers at once, as eight API clients would; the last sequence. */
  const addByEight = async (ids: readonly string[]) => {
    let last = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < ids.length; i += 8) last = Math.max(last, await add(ids[i] ?? ''));
      }),
    );
    return last;
  };
  const count = async () => Number((await sql.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM things`)[0]?.n ?? -1);
  return { naming, nc, store, sql, filter: naming.eventsOfAggregateType('test', 'thing'), close, add, addByEight, count };
}

describe('projection runner: poison events and outages', () => {
  let nc: NatsConnection;
  let sql: PgSqlClient;
  let naming: Naming;
  let store: JetStreamEventStore;
  let filter: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nc, sql, naming, store, filter, close } = await testBed('projection-runner-test'));
  });

  const runners: ProjectionRunner<PgSqlClient>[] = [];
  const runner = (events: JetStreamEventStore, projection: Things, instance: string, logger?: Log) => {
    const r = new ProjectionRunner(events, projection, new SqlProjectionStore(sql), { instance, logger });
    runners.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop();
  });

  afterAll(() => close());

  const subject = (id: string) => naming.eventSubject('test', 'thing', id);
  /** Appended as a service would, through the registry's validation. */
  const add = async (id: string, name: string, size = 1, aggregate = id) =>
    (await store.append(subject(aggregate), store.envelope({ type: 'ThingAdded', data: { id, name, size } }, 'thing', aggregate, meta), 0)).sequence;
  /** Straight onto the stream, past every validation: what a bug or an old version left there. */
  const raw = async (id: string, payload: string) => (await store.js.publish(subject(id), payload)).seq;
  const things = async () =>
    (await sql.$queryRaw<{ id: string; name: string; size: number }[]>`SELECT id, name, size FROM things ORDER BY id`).map((r) => r.id);

  it('parks each event that fails alone and applies every other one of its batch', async () => {
    const log = new Log();
    const things1 = runner(store, new Things(filter), 'a', log);
    const poison: number[] = [];
    for (let i = 0; i < 30; i++) {
      const id = `t${String(i).padStart(2, '0')}`;
      // append refuses a NUL since the event-store guard: an older release let it through
      if (i === 3)
        poison.push(await raw(id, JSON.stringify(store.envelope({ type: 'ThingAdded', data: { id, name: 'nul\u0000inside', size: 1 } }, 'thing', id, meta)))); // 22021
      else if (i === 11)
        poison.push(await add(id, 'big', 2 ** 31)); // 22003, int out of range
      else if (i === 17)
        poison.push(
          await raw(id, JSON.stringify({ ...store.envelope({ type: 'ThingAdded', data: { id, name: 'x', size: 1 } }, 'thing', id, meta), data: { id: 5 } })),
        ); // fails its schema
      else if (i === 23) poison.push(await raw(id, 'not json at all'));
      else if (i === 27)
        poison.push(await add('t01', 'same id again', 1, id)); // 23505 against t01
      else await add(id, `thing ${i}`);
    }
    // one batch of everything: the five must be found inside it
    await things1.start();
    await things1.catchUp();
    expect(await things()).toHaveLength(25);
    const parked = await things1.parkedEvents();
    expect(parked.map((p) => p.sequence)).toEqual(poison);
    expect(parked.map((p) => p.error.match(/SQLSTATE \w+|EVENT\.\w+|SyntaxError/)?.[0])).toEqual([
      'SQLSTATE 22021',
      'SQLSTATE 22003',
      'EVENT.INVALID',
      'SyntaxError',
      'SQLSTATE 23505',
    ]);
    expect(parked.map((p) => p.type)).toEqual(['ThingAdded', 'ThingAdded', 'ThingAdded', '', 'ThingAdded']);
    expect((await things1.status()).parked).toBe(5);
    // logged once per parked event, nothing else on the way
    expect(log.count('event parked')).toBe(5);
    expect(log.lines).toHaveLength(5);
    // later events still flow
    const later = await add('t99', 'after');
    await things1.waitFor(later);
    expect(await things()).toContain('t99');
    await things1.stop();

    // A restart keeps the count and parks nothing twice.
    await things1.start();
    expect((await things1.status()).parked).toBe(5);
    await things1.stop();
  });

  it('repairs parked events with a sanitising upcaster: re-applied, then a rebuild folds them in order', async () => {
    // the fixed release: the same projection and tables, a registry that reads version 1 sanitised
    const fixed = new JetStreamEventStore(nc, naming, new EventRegistry([SanitisedThingAdded]));
    const things2 = runner(fixed, new Things(filter), 'b');
    await things2.start();
    const before = (await things2.parkedEvents()).map((p) => p.sequence);
    const result = await things2.reapplyParked();
    // the NUL and the out-of-range size go through; what no upcaster fixes stays, with its error
    expect(result.applied).toEqual(before.slice(0, 2));
    expect(result.parked.map((p) => p.sequence)).toEqual(before.slice(2));
    expect((await things2.status()).parked).toBe(3);
    const rows = await sql.$queryRaw<{ id: string; name: string; size: number }[]>`SELECT id, name, size FROM things WHERE id IN ('t03', 't11') ORDER BY id`;
    expect(rows).toEqual([
      { id: 't03', name: 'nulinside', size: 1 },
      { id: 't11', name: 'big', size: 2 ** 31 - 1 },
    ]);
    // a rebuild replays everything in order with the fix: the same rows, the same three parked
    await things2.rebuild();
    expect(await things()).toHaveLength(28);
    expect((await things2.parkedEvents()).map((p) => p.sequence)).toEqual(before.slice(2));
    await things2.stop();
  });

  it('makes its consumer again when it is deleted from under it, and applies what followed', async () => {
    const log = new Log();
    const things4 = runner(store, new Things(filter), 'd', log);
    await things4.start();
    await things4.catchUp();
    await (await store.jsm()).consumers.delete(store.streamName, things4.durableName);
    await log.until('projection consumer failed', 1);
    const sequence = await add('after-delete', 'appended once the consumer was gone');
    await things4.waitFor(sequence, 30_000);
    expect(await things()).toContain('after-delete');
    expect((await things4.status()).running).toBe(true);
  });

  it('says events are pending while its checkpoint is behind its last event, though its consumer counts none', async () => {
    const things5 = runner(store, new Things(filter), 'e');
    // a batch's acknowledgement goes out after its commit: the consumer counts it a moment longer
    const settled = () => vi.waitFor(async () => expect((await things5.status()).pending).toBe(0), { timeout: 10_000, interval: 50 });
    await things5.start();
    await things5.catchUp();
    await settled();
    // stopped, and its consumer gone (lost with its server): nothing counts the next event
    await things5.stop();
    await (await store.jsm()).consumers.delete(store.streamName, things5.durableName);
    const sequence = await add('unseen', 'appended while nothing consumed');
    expect((await things5.status()).pending).toBe(1);
    await things5.start();
    await things5.waitFor(sequence, 30_000);
    await settled();
    await things5.stop();
  });

  it('applies an event whose delivery was lost on the way, though the delivery after it is acknowledged', async () => {
    // What a client meets when its server dies with messages in flight: the server counts the
    // message delivered, and one acknowledgement of a later message covers it (AckPolicy.All).
    const proxy = await LossyNatsProxy.start((await testInfra()).natsUrl);
    const lossyNc = await connectNats(proxy.url, 'projection-runner-lossy-test');
    const log = new Log();
    const things6 = runner(new JetStreamEventStore(lossyNc, naming, new EventRegistry([ThingAdded])), new Things(filter), 'f', log);
    try {
      await things6.start();
      await things6.catchUp();
      const lost = proxy.dropNext((m) => m.subject === subject('lost-on-the-way') && m.reply?.startsWith('$JS.ACK.') === true);
      await add('lost-on-the-way', 'its first delivery never reaches the runner');
      const after = await add('after-the-loss', 'delivered, and acknowledged');
      await lost;
      await things6.waitFor(after, 30_000);
      expect(await things()).toEqual(expect.arrayContaining(['lost-on-the-way', 'after-the-loss']));
      expect(log.count('projection consumer skipped a delivery')).toBe(1);
    } finally {
      await things6.stop();
      await lossyNc.close();
      await proxy.close();
    }
  });

  it('retries a database failure as long as it lasts and parks nothing', async () => {
    const log = new Log();
    const projection = new Things(filter);
    projection.lockTimeout = true;
    const things3 = runner(store, projection, 'c', log);
    await things3.start();
    await things3.catchUp();
    const parkedBefore = (await things3.status()).parked;
    // another session holds the table: every insert times out waiting for its lock (55P03)
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = sql.$transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE things IN ACCESS EXCLUSIVE MODE`;
      locked();
      await held;
    });
    await isLocked;
    const sequence = await add('u1', 'during the outage');
    await log.until('projection batch failed (database)', 4);
    expect(things3.checkpoint).toBeLessThan(sequence);
    expect((await things3.status()).parked).toBe(parkedBefore);
    expect(log.count('event parked')).toBe(0);
    release();
    await holder;
    await things3.waitFor(sequence, 30_000);
    expect(await things()).toContain('u1');
    expect((await things3.status()).parked).toBe(parkedBefore);
    await things3.stop();
  });
});

describe('projection runner: two replicas of a service', () => {
  let sql: PgSqlClient;
  let store: JetStreamEventStore;
  let filter: string;
  let close: () => Promise<void>;
  let add: (id: string) => Promise<number>;
  let addByEight: (ids: readonly string[]) => Promise<number>;
  let count: () => Promise<number>;

  beforeAll(async () => {
    ({ sql, store, filter, close, add, addByEight, count } = await testBed('projection-replicas-test'));
  });

  afterAll(() => close());

  const appendMany = (prefix: string, n: number) => addByEight(Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`));

  it('fold each event once (a second insert of a row would park it), and each knows how far the projection is', async () => {
    const log = new Log();
    const a = new ProjectionRunner(store, new Things(filter), new SqlProjectionStore(sql), { instance: 'replica-a', logger: log });
    const b = new ProjectionRunner(store, new Things(filter), new SqlProjectionStore(sql), { instance: 'replica-b', logger: log });
    await Promise.all([a.start(), b.start()]);
    try {
      const last = await appendMany('r', 400);
      // read-your-writes on either replica
      await Promise.all([a.waitFor(last, 30_000), b.waitFor(last, 30_000)]);
      expect(await count()).toBe(400);
      expect((await a.status()).parked + (await b.status()).parked).toBe(0);
      expect(log.count('event parked')).toBe(0);

      // a rebuild on one replica, beside the other and new writes
      const rebuilt = a.rebuild();
      const more = await appendMany('s', 100);
      await rebuilt;
      await Promise.all([a.waitFor(more, 30_000), b.waitFor(more, 30_000)]);
      expect(await count()).toBe(500);
      expect(log.count('event parked')).toBe(0);

      // what b finds when another replica's rebuild empties the projection between two of its
      // batches (made here without a race: the reset a rebuild commits, with a stopped)
      await a.stop();
      const resets = log.count('projection reset by another replica');
      await sql.$transaction(async (tx) => {
        await tx.$executeRaw`TRUNCATE things`;
        await tx.$executeRaw`UPDATE projection_checkpoints SET sequence = 0 WHERE name = 'things'`;
      });
      const last2 = await add('t-after-reset');
      await b.waitFor(last2, 30_000);
      expect(log.count('projection reset by another replica')).toBe(resets + 1);
      expect(await count()).toBe(501);
      expect(log.count('event parked')).toBe(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('projection runner: events its projection does not fold', () => {
  let sql: PgSqlClient;
  let naming: Naming;
  let store: JetStreamEventStore;
  let filter: string;
  let close: () => Promise<void>;
  let add: (id: string, name?: string) => Promise<number>;
  let addByEight: (ids: readonly string[]) => Promise<number>;
  let count: () => Promise<number>;

  beforeAll(async () => {
    ({ sql, naming, store, filter, close, add, addByEight, count } = await testBed('projection-skips-test'));
  });

  afterAll(() => close());

  /** Folds every thing but those whose aggregate id starts with `other-`: another context's events on the same filter. */
  class SomeThings extends Things {
    accepts(subject: string): boolean {
      return !/\.other-[^.]*$/.test(subject);
    }
  }

  const checkpoint = async () =>
    Number((await sql.$queryRaw<{ s: bigint }[]>`SELECT sequence AS s FROM projection_checkpoints WHERE name = 'things'`)[0]?.s ?? -1);
  /** A runner of `projection` whose checkpoint follows skipped events after `delayMs`. */
  const runnerOf = (projection: Things, instance: string, logger: Log, delayMs: number) =>
    new ProjectionRunner(store, projection, new SqlProjectionStore(sql), { instance, logger, skippedCheckpointDelayMs: delayMs });

  it('moves past them without a transaction, and the checkpoint follows later, at a stop, or with the next commit', async () => {
    const log = new Log();
    // a delay no test run reaches: the checkpoint moves only with a stop or a commit
    const lazy = runnerOf(new SomeThings(filter), 'lazy', log, 3_600_000);
    await lazy.start();
    const folded = await add('a1');
    await lazy.waitFor(folded, 30_000);
    expect(await checkpoint()).toBe(folded);

    await add('other-1');
    const skipped = await add('other-2');
    await lazy.waitFor(skipped, 30_000);
    expect(lazy.checkpoint).toBe(skipped);
    // nothing folded, nothing committed
    expect(await count()).toBe(1);
    expect(await checkpoint()).toBe(folded);

    // the next folded event commits the checkpoint past the skipped ones
    await add('other-3');
    const next = await add('a2');
    await lazy.waitFor(next, 30_000);
    expect(await count()).toBe(2);
    expect(await checkpoint()).toBe(next);

    // a stop writes what was skipped since
    const skippedLast = await add('other-4');
    await lazy.waitFor(skippedLast, 30_000);
    expect(await checkpoint()).toBe(next);
    await lazy.stop();
    expect(await checkpoint()).toBe(skippedLast);

    // without a stop, the delay writes it
    const eager = runnerOf(new SomeThings(filter), 'eager', log, 20);
    await eager.start();
    try {
      expect(eager.checkpoint).toBe(skippedLast);
      const later = await add('other-5');
      await eager.waitFor(later, 30_000);
      await expect.poll(checkpoint, { timeout: 30_000 }).toBe(later);
      expect(await count()).toBe(2);
    } finally {
      await eager.stop();
    }
    expect(log.lines).toEqual([]);
  });

  it('skips what its projection says it folds into nothing, and still parks what cannot be read', async () => {
    const log = new Log();
    /** Folds every thing but those named `nothing-…`: a type of event its handlers ignore. */
    class NamedThings extends Things {
      folds(e: RecordedEvent): boolean {
        return !(e.envelope.data as { name: string }).name.startsWith('nothing-');
      }
    }
    const r = runnerOf(new NamedThings(filter), 'named', log, 3_600_000);
    await r.start();
    try {
      const folded = await add('b1');
      await r.waitFor(folded, 30_000);
      const before = await count();
      const at = await checkpoint();
      const ignored = await add('b2', 'nothing-here');
      await r.waitFor(ignored, 30_000);
      expect(await count()).toBe(before);
      expect(await checkpoint()).toBe(at);

      // not JSON: the projection cannot say, so it goes the way of every event, and is parked
      const unreadable = (await store.js.publish(naming.eventSubject('test', 'thing', 'b3'), 'not json')).seq;
      await r.waitFor(unreadable, 30_000);
      expect((await r.parkedEvents()).map((p) => p.sequence)).toEqual([unreadable]);
      expect(await checkpoint()).toBe(unreadable);
    } finally {
      await r.stop();
    }
    expect(log.count('event parked')).toBe(1);
  });

  it('two replicas skipping beside each other fold every other event once and never take the lag for a rebuild', async () => {
    const log = new Log();
    const replica = (instance: string) => runnerOf(new SomeThings(filter), instance, log, 50);
    const a = replica('replica-a');
    const b = replica('replica-b');
    await Promise.all([a.start(), b.start()]);
    try {
      const before = await count();
      // every other event one the projection does not fold
      const last = await addByEight(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? `m${String(i).padStart(4, '0')}` : `other-m${i}`)));
      await Promise.all([a.waitFor(last, 30_000), b.waitFor(last, 30_000)]);
      expect(await count()).toBe(before + 100);
      expect(log.count('projection reset by another replica')).toBe(0);
      expect(log.count('event parked')).toBe(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('projection runner: planner statistics', () => {
  let sql: PgSqlClient;
  let store: JetStreamEventStore;
  let filter: string;
  let close: () => Promise<void>;
  let add: (id: string, name?: string) => Promise<number>;

  beforeAll(async () => {
    ({ sql, store, filter, close, add } = await testBed('projection-statistics-test'));
  });

  afterAll(() => close());

  /** Analyzes its table for real, and records how many rows it held each time. */
  class AnalyzedThings extends Things {
    readonly rowsAtAnalyze: number[] = [];
    private waiters: { n: number; resolve: () => void }[] = [];
    async analyze(tx: PgSqlClient): Promise<void> {
      await tx.$executeRaw`ANALYZE things`;
      this.rowsAtAnalyze.push(Number((await tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM things`)[0]?.n));
      for (const w of this.waiters.filter((x) => this.rowsAtAnalyze.length >= x.n)) w.resolve();
    }
    until(n: number): Promise<void> {
      return this.rowsAtAnalyze.length >= n ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }));
    }
  }

  /** The rows of pg_stats the last ANALYZE left for the table: none until one ran. */
  const statisticsRows = async () => Number((await sql.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pg_stats WHERE tablename = 'things'`)[0]?.n);

  it('analyzes its tables once it has folded a few events, then each time it has folded four times as many, and after a rebuild', async () => {
    const projection = new AnalyzedThings(filter);
    const r = new ProjectionRunner(store, projection, new SqlProjectionStore(sql), { instance: 'a', statisticsFirstAfter: 3 });
    expect(await statisticsRows()).toBe(0);
    for (const id of ['s1', 's2', 's3']) await add(id);
    await r.start();
    try {
      await projection.until(1);
      expect(await statisticsRows()).toBeGreaterThan(0);
      // the next one at 4 x 3 = 12 events folded, one at a time here: not at the eleventh
      let last = 0;
      for (let i = 4; i <= 12; i++) last = await add(`s${i}`);
      await r.waitFor(last);
      await projection.until(2);
      expect(projection.rowsAtAnalyze).toEqual([3, 12]);
      // The count starts again: a refresh while the 12 are folded again (two when they come in
      // two batches, the first of at least 3), and one when the rebuild is done. Without the
      // restart the next would be at 48 events folded, none during the rebuild.
      await r.rebuild();
      await projection.until(4);
      const duringAndAfter = projection.rowsAtAnalyze.slice(2);
      expect(duringAndAfter.length).toBeGreaterThanOrEqual(2);
      expect(duringAndAfter.length).toBeLessThanOrEqual(3);
      expect(duringAndAfter.at(-1)).toBe(12);
    } finally {
      await r.stop();
    }
  });
});

describe('projection runner: batch sizes', () => {
  let store: JetStreamEventStore;
  let sql: PgSqlClient;
  let filter: string;
  let close: () => Promise<void>;
  let addByEight: (ids: readonly string[]) => Promise<number>;

  beforeAll(async () => {
    ({ store, sql, filter, close, addByEight } = await testBed('projection-batch-sizes-test'));
  });

  afterAll(() => close());

  /** Folds a batch event by event, and records how many events each batch held and whether its commit waits for the disk. */
  class BatchedThings extends Things {
    readonly batches: number[] = [];
    readonly synchronousCommit = new Set<string>();
    async applyBatch(tx: PgSqlClient, events: readonly RecordedEvent[]): Promise<void> {
      this.batches.push(events.length);
      const [setting] = await tx.$queryRaw<{ s: string }[]>`SELECT current_setting('synchronous_commit') AS s`;
      this.synchronousCommit.add(setting?.s ?? '?');
      for (const e of events) await this.apply(tx, e);
    }
    clear(): void {
      this.batches.length = 0;
      this.synchronousCommit.clear();
    }
  }

  it('takes batches up to the replay size, committed without waiting for the disk, while a rebuild replays the stream, and the live size before and after', async () => {
    const projection = new BatchedThings(filter);
    const r = new ProjectionRunner(store, projection, new SqlProjectionStore(sql), { instance: 'a', batchSize: 10, replayBatchSize: 200 });
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    let last = await addByEight(ids('a', 600));
    await r.start();
    try {
      // catching up is following the stream: the live size
      await r.waitFor(last);
      expect(Math.max(...projection.batches)).toBeLessThanOrEqual(10);
      expect([...projection.synchronousCommit]).toEqual(['on']);
      projection.clear();
      await r.rebuild();
      const replayed = [...projection.batches];
      expect(replayed.reduce((a, b) => a + b, 0)).toBe(600);
      expect(Math.max(...replayed)).toBeGreaterThan(10);
      expect(Math.max(...replayed)).toBeLessThanOrEqual(200);
      expect([...projection.synchronousCommit]).toEqual(['off']);
      projection.clear();
      last = await addByEight(ids('b', 300));
      await r.waitFor(last);
      expect(Math.max(...projection.batches)).toBeLessThanOrEqual(10);
      expect([...projection.synchronousCommit]).toEqual(['on']);
      expect(Number((await sql.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM things`)[0]?.n)).toBe(900);
    } finally {
      await r.stop();
    }
  });
});

describe('projection runner: a rebuild beside readers', () => {
  let sql: PgSqlClient;
  let store: JetStreamEventStore;
  let filter: string;
  let close: () => Promise<void>;
  let add: (id: string, name?: string) => Promise<number>;
  let count: () => Promise<number>;

  beforeAll(async () => {
    ({ sql, store, filter, close, add, count } = await testBed('projection-rebuild-readers-test'));
    await sql.exec('CREATE TABLE thing_notes (id text PRIMARY KEY)');
  });

  afterAll(() => close());

  /** Two tables, emptied together as a service's projection empties its own. */
  class ThingsWithNotes extends Things {
    override async reset(tx: PgSqlClient): Promise<void> {
      await tx.$executeRaw`TRUNCATE things, thing_notes`;
    }
  }

  /** Whether some session waits for a lock on `table` (the rebuild's TRUNCATE, here). */
  const waitingFor = async (table: string) =>
    Number(
      (
        await sql.$queryRaw<
          { n: bigint }[]
        >`SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = ${table} AND NOT l.granted`
      )[0]?.n,
    ) > 0;

  it('empties its projection again when Postgres aborts it for a deadlock with a reader, and rebuilds it whole', async () => {
    const log = new Log();
    const runner = new ProjectionRunner(store, new ThingsWithNotes(filter), new SqlProjectionStore(sql), { instance: 'r', logger: log });
    await add('d1');
    const last = await add('d2');
    await runner.start();
    await runner.waitFor(last, 30_000);
    try {
      // A reader's transaction holds thing_notes, the rebuild's TRUNCATE takes things and waits
      // for thing_notes, then the reader asks for things: a deadlock. The TRUNCATE waited
      // first, so Postgres's check (deadlock_timeout after a wait begins) aborts it.
      let truncateWaits: () => void = () => undefined;
      const waits = new Promise<void>((resolve) => (truncateWaits = resolve));
      const reader = sql.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT count(*) FROM thing_notes`;
        await waits;
        return tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM things`;
      });
      const rebuilt = runner.rebuild();
      while (!(await waitingFor('thing_notes'))) await new Promise((resolve) => setImmediate(resolve));
      truncateWaits();
      await reader;
      await rebuilt;
      expect(log.count('projection rebuild: emptying it conflicted with a reader')).toBe(1);
      expect(await count()).toBe(2);
      expect((await runner.status()).parked).toBe(0);
    } finally {
      await runner.stop();
    }
  });
});

describe('projection runner: acknowledgements', () => {
  it('acknowledges everything it folded, at most once per ACK_DELAY_MS however many batches', async () => {
    const { nc, sql, store, filter, close, add } = await testBed('projection-acks-test');
    const runner = new ProjectionRunner(store, new Things(filter), new SqlProjectionStore(sql), { instance: 'acks' });
    // every acknowledgement is a message to the consumer's $JS.ACK subject
    const acks = nc.subscribe(`$JS.ACK.${store.streamName}.${runner.durableName}.>`);
    let acked = 0;
    void (async () => {
      for await (const _ of acks) acked++;
    })();
    try {
      await runner.start();
      let last = 0;
      const startedAt = performance.now();
      // one event at a time, each its own batch
      for (let i = 0; i < 20; i++) {
        last = await add(`a${i}`);
        await runner.waitFor(last);
      }
      const windows = Math.ceil((performance.now() - startedAt) / ACK_DELAY_MS) + 1;
      const jsm = await store.jsm();
      await vi.waitFor(
        async () => {
          const info = await jsm.consumers.info(store.streamName, runner.durableName);
          expect(info.ack_floor.stream_seq).toBe(last);
          expect(info.num_ack_pending).toBe(0);
        },
        { timeout: 10_000, interval: 50 },
      );
      await nc.flush();
      expect(acked).toBeGreaterThan(0);
      expect(acked).toBeLessThanOrEqual(Math.min(20, windows));

      // caught up is nothing pending at once, not once the acknowledgement's delay has passed
      last = await add('a-last');
      await runner.waitFor(last);
      expect(await runner.status()).toMatchObject({ checkpoint: last, pending: 0 });
    } finally {
      acks.unsubscribe();
      await runner.stop();
      await close();
    }
  });
});
