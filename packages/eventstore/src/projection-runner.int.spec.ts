import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventRegistry, Naming, defineEvent, type CommandMetadata, type RecordedEvent } from '@ncp/contracts';
import { PgSqlClient, createTestDatabase, testInfra, uniqueName, type TestDatabase } from '@ncp/testing';
import { JetStreamEventStore, ProjectionRunner, SqlProjectionStore, connectNats, type NatsConnection, type Projection, type ProjectionLogger } from './index';

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

describe('projection runner: poison events and outages', () => {
  let nc: NatsConnection;
  let db: TestDatabase;
  let sql: PgSqlClient;
  const naming = new Naming({ prefix: uniqueName() });
  let store: JetStreamEventStore;
  const filter = naming.eventsOfAggregateType('test', 'thing');

  beforeAll(async () => {
    const infra = await testInfra();
    nc = await connectNats(infra.natsUrl, 'projection-runner-test');
    store = new JetStreamEventStore(nc, naming, new EventRegistry([ThingAdded]));
    await store.ensureStream();
    db = await createTestDatabase(infra.databaseUrl);
    sql = PgSqlClient.connect(db.url);
    for (const statement of DDL) await sql.exec(statement);
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

  afterAll(async () => {
    await sql.$disconnect();
    await db.drop();
    await store.deleteStream();
    await nc.close();
  });

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
