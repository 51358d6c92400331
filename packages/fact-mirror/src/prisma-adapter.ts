import { groupBy, type RecordedEvent } from '@ncp/contracts';
import { foldEvents, rowChanges, rowOps, type MirrorOp, type MirrorRows, type MirrorTable, type RowState } from './reducer';

/** What the adapter uses of a Prisma model delegate (any generated client's has these). */
export interface RowDelegate {
  upsert(args: { where: object; create: object; update: object }): PromiseLike<unknown>;
  deleteMany(args: { where: object }): PromiseLike<unknown>;
  /** `data`: rows of the table's own input type (each generated delegate has its own) */
  createMany(args: { data: never[] }): PromiseLike<unknown>;
}

/** The `fact_mirror` table: each mirrored row's state (see reducer.ts), by `table:id`. */
export interface MirrorStateDelegate {
  findMany(args: { where: { key: { in: string[] } } }): PromiseLike<{ key: string; state: unknown }[]>;
}

/** Raw SQL in the transaction (a Prisma transaction client's), on the service's schema. */
export interface RawSqlTx {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/**
 * A mirror table a service keeps: its delegate, and the row's columns in it (without its key):
 * those it keeps as they are, by name, and those it makes from the row.
 */
export interface MirrorTableOf<Tx, R> {
  rows: (tx: Tx) => RowDelegate;
  columns: readonly (keyof R)[];
  derived?: (row: R) => object;
}
export type MirrorTables<Tx> = { [T in MirrorTable]?: MirrorTableOf<Tx, MirrorRows[T]> };

/** The key column of each table (an agent is its host's: registering again replaces it). */
const KEY_COLUMN: Record<MirrorTable, string> = {
  network: 'id',
  subnet: 'id',
  port: 'id',
  networkRbac: 'id',
  agent: 'host',
  router: 'id',
  routerInterface: 'portId',
  floatingIp: 'id',
};

const tableOf = (key: string): MirrorTable => key.slice(0, key.indexOf(':')) as MirrorTable;

/**
 * Applies the mirror's row operations to a service's tables: loads the states of the rows an
 * event touches, folds the event into them, stores them and writes the rows they stand for.
 * Only the tables the service keeps are touched; each keeps the columns it maps.
 */
export class FactMirror<Tx extends RawSqlTx> {
  constructor(
    private readonly states: (tx: Tx) => MirrorStateDelegate,
    private readonly tables: MirrorTables<Tx>,
  ) {}

  /** Whether the event changes a row of a table this service keeps. */
  touches(recorded: RecordedEvent): boolean {
    return this.keysOf(recorded).length > 0;
  }

  apply(tx: Tx, recorded: RecordedEvent): Promise<void> {
    return this.applyRun(tx, [recorded]);
  }

  /**
   * Consecutive events at once: the states of every row they touch read in one statement and
   * written in one, and each table's rows in one or two. The same as applying them one by one:
   * states merge in any batches (see reducer.ts), and a row is what its last state says.
   */
  async applyRun(tx: Tx, run: readonly RecordedEvent[]): Promise<void> {
    const keys = [...new Set(run.flatMap((recorded) => this.keysOf(recorded)))];
    if (keys.length === 0) return;
    const stored = await this.states(tx).findMany({ where: { key: { in: keys } } });
    const states = foldEvents(new Map(stored.map((s) => [s.key, s.state as RowState])), run);
    const changed = keys.flatMap((key) => {
      const state = states.get(key);
      return state ? [{ key, state }] : [];
    });
    // One string, not objects Prisma would walk field by field; every service's schema has this table.
    const json = JSON.stringify(changed);
    await tx.$executeRaw`
      INSERT INTO fact_mirror (key, state) SELECT key, state FROM jsonb_to_recordset(${json}::jsonb) AS s(key text, state jsonb)
      ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state`;
    await this.write(tx, rowOps(states, keys));
  }

  private keysOf(recorded: RecordedEvent): string[] {
    return [...new Set(rowChanges(recorded).map((c) => c.key))].filter((key) => this.tables[tableOf(key)] !== undefined);
  }

  /**
   * Brings each table's rows to the ops: one row by an upsert or a delete, several by deleting
   * them all and inserting those that exist (mirror tables carry no foreign keys, and the
   * mirror writes every column it keeps).
   */
  private async write(tx: Tx, ops: readonly MirrorOp[]): Promise<void> {
    for (const [name, tableOps] of groupBy(ops, (op) => op.table)) {
      // the table is the op's: its columns take the op's row
      const table = this.tables[name] as MirrorTableOf<Tx, Record<string, unknown>> | undefined;
      if (!table) continue;
      const rows = table.rows(tx);
      const keyColumn = KEY_COLUMN[name];
      const dataOf = (row: Record<string, unknown>) => ({ ...Object.fromEntries(table.columns.map((c) => [c, row[c]])), ...table.derived?.(row) });
      const [only, ...more] = tableOps;
      if (only && more.length === 0) {
        if (only.op === 'delete') await rows.deleteMany({ where: { [keyColumn]: only.id } });
        else {
          const row = only.row as unknown as Record<string, unknown>;
          const data = dataOf(row);
          await rows.upsert({ where: { [keyColumn]: row[keyColumn] }, create: { [keyColumn]: row[keyColumn], ...data }, update: data });
        }
        continue;
      }
      const keyOf = (op: MirrorOp) => (op.op === 'delete' ? op.id : (op.row as unknown as Record<string, unknown>)[keyColumn]);
      await rows.deleteMany({ where: { [keyColumn]: { in: tableOps.map(keyOf) } } });
      const upserted = tableOps.flatMap((op) => (op.op === 'upsert' ? [op.row as unknown as Record<string, unknown>] : []));
      if (upserted.length > 0) await rows.createMany({ data: upserted.map((row) => ({ [keyColumn]: row[keyColumn], ...dataOf(row) })) as never[] });
    }
  }
}
