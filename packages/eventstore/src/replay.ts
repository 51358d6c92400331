import { type JetStreamEventStore } from './event-store';
import { applyEvents, type Projection, type ProjectionStore } from './projection-runner';
import { SqlProjectionStore, type SqlClient, type TransactionalSqlClient } from './sql-projection-store';

/** What `replay --into` may create and drop: a schema of its own, never a service's. */
export const REPLAY_SCHEMA = /^replay_[a-z0-9_]{1,50}$/;

export interface SqlExecutor {
  $executeRawUnsafe(query: string): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string): Promise<T>;
}

/**
 * Folds the stream's events up to `toSequence` into `target`, as the projection runner does
 * (batches committed with their checkpoint), but bounded: "what did the world look like then".
 */
export async function replayProjection<Tx>(
  store: Pick<JetStreamEventStore, 'read'>,
  projection: Projection<Tx>,
  target: ProjectionStore<Tx>,
  toSequence: number,
  batchSize = 500,
): Promise<number> {
  await target.readCheckpoint(projection.name);
  let batch: Parameters<Projection<Tx>['apply']>[1][] = [];
  let applied = 0;
  const commit = async () => {
    const events = batch;
    batch = [];
    const last = events.at(-1);
    if (!last) return;
    await target.transaction(async (tx) => {
      await target.readCheckpoint(projection.name, tx);
      await applyEvents(projection, tx, events);
      await target.writeCheckpoint(tx, projection.name, last.sequence);
    });
    applied += events.length;
  };
  for await (const e of store.read(projection.filter, 1, toSequence, (subject) => projection.accepts?.(subject) ?? true)) {
    batch.push(e);
    if (batch.length >= batchSize) await commit();
  }
  await commit();
  return applied;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const ON_ACTION: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}

const quoted = (names: readonly string[]) =>
  names
    .map((n) => {
      if (!IDENTIFIER.test(n)) throw new Error(`unexpected identifier ${n}`);
      return `"${n}"`;
    })
    .join(', ');

/**
 * A scratch copy of a service's schema: `schema` is dropped and created again with every table
 * of `liveSchema` (columns, defaults, indexes, and the foreign keys between them, pointing
 * inside the copy, so a deletion cascades there as it does in the live schema), empty.
 */
export async function createScratchSchema(sql: SqlExecutor, liveSchema: string, schema: string): Promise<void> {
  if (!REPLAY_SCHEMA.test(schema)) throw new Error(`a replay schema is named replay_<letters, digits, _>, got ${schema}`);
  if (!IDENTIFIER.test(liveSchema)) throw new Error(`bad schema name ${liveSchema}`);
  const tables = await sql.$queryRawUnsafe<{ table_name: string }[]>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = '${liveSchema}' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations' ORDER BY table_name`,
  );
  await sql.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.$executeRawUnsafe(`CREATE SCHEMA "${schema}"`);
  for (const { table_name: t } of tables) {
    if (!IDENTIFIER.test(t)) throw new Error(`unexpected table name ${t}`);
    await sql.$executeRawUnsafe(`CREATE TABLE "${schema}"."${t}" (LIKE "${liveSchema}"."${t}" INCLUDING ALL)`);
  }
  // LIKE copies no foreign keys; the catalog names their columns, the copies reference the copy.
  const keys = await sql.$queryRawUnsafe<ForeignKey[]>(
    `SELECT c.conname::text AS name, t.relname::text AS "table", r.relname::text AS "refTable",
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS "refColumns",
       c.confdeltype::text AS "onDelete", c.confupdtype::text AS "onUpdate"
     FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
     WHERE c.contype = 'f' AND c.connamespace = '${liveSchema}'::regnamespace AND r.relnamespace = c.connamespace
     ORDER BY c.conname`,
  );
  for (const k of keys) {
    const onDelete = ON_ACTION[k.onDelete];
    const onUpdate = ON_ACTION[k.onUpdate];
    if (onDelete === undefined || onUpdate === undefined) throw new Error(`foreign key ${k.name}: unknown action ${k.onDelete}/${k.onUpdate}`);
    await sql.$executeRawUnsafe(
      `ALTER TABLE "${schema}".${quoted([k.table])} ADD CONSTRAINT ${quoted([k.name])} FOREIGN KEY (${quoted(k.columns)}) REFERENCES "${schema}".${quoted([k.refTable])} (${quoted(k.refColumns)}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}`,
    );
  }
}

/**
 * A service's projections as of `toSequence`, in the scratch schema `schema` (created afresh
 * from the live one): what `netctl replay --to <sequence> --into <schema>` asks for.
 * `connect` opens the service's own client on a schema.
 */
export async function replayIntoScratch<Tx extends SqlClient, Db extends TransactionalSqlClient<Tx>>(options: {
  readonly sql: SqlExecutor;
  readonly liveSchema: string;
  readonly schema: string;
  readonly toSequence: number;
  readonly store: Pick<JetStreamEventStore, 'read'>;
  readonly projections: readonly Projection<Tx>[];
  readonly connect: (schema: string) => Db & { $disconnect(): Promise<void> };
}): Promise<{ projections: { name: string; events: number }[] }> {
  await createScratchSchema(options.sql, options.liveSchema, options.schema);
  const db = options.connect(options.schema);
  try {
    const target = new SqlProjectionStore<Tx>(db);
    const projections = [];
    for (const p of options.projections) projections.push({ name: p.name, events: await replayProjection(options.store, p, target, options.toSequence) });
    return { projections };
  } finally {
    await db.$disconnect();
  }
}
