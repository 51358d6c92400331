import { type ParkedEvent } from '@ncp/contracts';
import { type ProjectionStore } from './projection-runner';
import { type Snapshot, type SnapshotStore } from './snapshot-store';

/**
 * The slice of a Prisma client the stores use: raw SQL and interactive transactions. Any
 * service's generated client fits, so each keeps its own schema and client.
 */
export interface SqlClient {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

export interface TransactionalSqlClient<Tx extends SqlClient> extends SqlClient {
  $transaction<T>(fn: (tx: Tx) => Promise<T>, options?: { timeout?: number; maxWait?: number }): Promise<T>;
}

/**
 * Checkpoints in the projection's own schema (table `projection_checkpoints`), so they
 * commit with its rows. One statement each: they run once per batch on the hot path.
 * Parked events in table `parked_events` of the same schema (every service's migrations
 * create both).
 */
export class SqlProjectionStore<Tx extends SqlClient> implements ProjectionStore<Tx> {
  constructor(private readonly db: TransactionalSqlClient<Tx>) {}

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.$transaction(fn, { timeout: 60_000, maxWait: 10_000 });
  }

  async readCheckpoint(name: string, tx?: Tx): Promise<number> {
    if (!tx) {
      // Outside a batch: make sure the row exists, so batches only ever lock it.
      await this.db.$executeRaw`INSERT INTO projection_checkpoints (name, sequence, updated_at) VALUES (${name}, 0, now()) ON CONFLICT (name) DO NOTHING`;
      const rows = await this.db.$queryRaw<{ sequence: bigint }[]>`SELECT sequence FROM projection_checkpoints WHERE name = ${name}`;
      return Number(rows[0]?.sequence ?? 0n);
    }
    // The row lock serialises writers of one projection across processes.
    const rows = await tx.$queryRaw<{ sequence: bigint }[]>`SELECT sequence FROM projection_checkpoints WHERE name = ${name} FOR UPDATE`;
    const row = rows[0];
    if (!row) throw new Error(`checkpoint ${name} missing: readCheckpoint(name) must run before the first batch`);
    return Number(row.sequence);
  }

  async writeCheckpoint(tx: Tx, name: string, sequence: number): Promise<void> {
    await tx.$executeRaw`UPDATE projection_checkpoints SET sequence = ${BigInt(sequence)}, updated_at = now() WHERE name = ${name}`;
  }

  async claimCheckpoint(tx: Tx, name: string, committed: number, to: number): Promise<number> {
    // The subquery's FOR UPDATE waits for another writer and answers the row it committed.
    const rows = await tx.$queryRaw<{ before: bigint }[]>`
      UPDATE projection_checkpoints c
      SET sequence = CASE WHEN was.sequence < ${BigInt(committed)} OR was.sequence >= ${BigInt(to)} THEN was.sequence ELSE ${BigInt(to)} END, updated_at = now()
      FROM (SELECT sequence FROM projection_checkpoints WHERE name = ${name} FOR UPDATE) was
      WHERE c.name = ${name}
      RETURNING was.sequence AS before`;
    const row = rows[0];
    if (!row) throw new Error(`checkpoint ${name} missing: readCheckpoint(name) must run before the first batch`);
    return Number(row.before);
  }

  async park(tx: Tx, e: Omit<ParkedEvent, 'parkedAt'>): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO parked_events (projection, sequence, subject, type, schema_version, error, parked_at)
      VALUES (${e.projection}, ${BigInt(e.sequence)}, ${e.subject}, ${e.type}, ${e.schemaVersion}, ${e.error}, now())
      ON CONFLICT (projection, sequence) DO UPDATE SET type = EXCLUDED.type, schema_version = EXCLUDED.schema_version, error = EXCLUDED.error`;
  }

  async commitWithoutWaitingForDisk(tx: Tx): Promise<void> {
    await tx.$queryRaw`SELECT set_config('synchronous_commit', 'off', true)`;
  }

  async parked(name: string): Promise<ParkedEvent[]> {
    const rows = await this.db.$queryRaw<{ sequence: bigint; subject: string; type: string; schema_version: number; error: string; parked_at: Date }[]>`
      SELECT sequence, subject, type, schema_version, error, parked_at FROM parked_events WHERE projection = ${name} ORDER BY sequence`;
    return rows.map((r) => ({
      projection: name,
      sequence: Number(r.sequence),
      subject: r.subject,
      type: r.type,
      schemaVersion: r.schema_version,
      error: r.error,
      parkedAt: r.parked_at.toISOString(),
    }));
  }

  async unpark(tx: Tx, name: string, sequence?: number): Promise<void> {
    if (sequence === undefined) await tx.$executeRaw`DELETE FROM parked_events WHERE projection = ${name}`;
    else await tx.$executeRaw`DELETE FROM parked_events WHERE projection = ${name} AND sequence = ${BigInt(sequence)}`;
  }
}

/** Snapshots in table `aggregate_snapshots`; the state goes over as one JSON string. */
export class SqlSnapshotStore implements SnapshotStore {
  constructor(private readonly db: SqlClient) {}

  async load(subject: string): Promise<Snapshot | null> {
    const rows = await this.db.$queryRaw<{ sequence: bigint; version: number; state: string }[]>`
      SELECT sequence, version, state::text AS state FROM aggregate_snapshots WHERE subject = ${subject}`;
    const row = rows[0];
    return row ? { sequence: Number(row.sequence), version: row.version, state: JSON.parse(row.state) as unknown } : null;
  }

  /** Handing the state over as an object would make Prisma walk all of it on the event loop. */
  async save(subject: string, snapshot: Snapshot): Promise<void> {
    const state = JSON.stringify(snapshot.state);
    // Never moves a snapshot backwards (two writers racing).
    await this.db.$executeRaw`
      INSERT INTO aggregate_snapshots (subject, sequence, version, state, saved_at)
      VALUES (${subject}, ${BigInt(snapshot.sequence)}, ${snapshot.version}, ${state}::jsonb, now())
      ON CONFLICT (subject) DO UPDATE SET sequence = EXCLUDED.sequence, version = EXCLUDED.version, state = EXCLUDED.state, saved_at = now()
      WHERE aggregate_snapshots.sequence < EXCLUDED.sequence`;
  }
}
