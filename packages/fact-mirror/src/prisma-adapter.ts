import { type RecordedEvent } from '@ncp/contracts';
import { foldEvents, rowChanges, rowOps, type MirrorOp, type MirrorRows, type MirrorTable, type RowState } from './reducer';

/** What the adapter uses of a Prisma model delegate (any generated client's has these). */
export interface RowDelegate {
  upsert(args: { where: object; create: object; update: object }): PromiseLike<unknown>;
  deleteMany(args: { where: object }): PromiseLike<unknown>;
}

/** The `fact_mirror` table: each mirrored row's state (see reducer.ts), by `table:id`. */
export interface MirrorStateDelegate {
  findMany(args: { where: { key: { in: string[] } } }): PromiseLike<{ key: string; state: unknown }[]>;
  upsert(args: { where: { key: string }; create: { key: string; state: object }; update: { state: object } }): PromiseLike<unknown>;
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
export class FactMirror<Tx> {
  constructor(
    private readonly states: (tx: Tx) => MirrorStateDelegate,
    private readonly tables: MirrorTables<Tx>,
  ) {}

  /** Whether the event changes a row of a table this service keeps. */
  touches(recorded: RecordedEvent): boolean {
    return this.keysOf(recorded).length > 0;
  }

  async apply(tx: Tx, recorded: RecordedEvent): Promise<void> {
    const keys = this.keysOf(recorded);
    if (keys.length === 0) return;
    const stored = await this.states(tx).findMany({ where: { key: { in: keys } } });
    const states = foldEvents(new Map(stored.map((s) => [s.key, s.state as RowState])), [recorded]);
    for (const key of keys) {
      const state = states.get(key);
      if (state) await this.states(tx).upsert({ where: { key }, create: { key, state }, update: { state } });
    }
    for (const op of rowOps(states, keys)) await this.write(tx, op);
  }

  private keysOf(recorded: RecordedEvent): string[] {
    return [...new Set(rowChanges(recorded).map((c) => c.key))].filter((key) => this.tables[tableOf(key)] !== undefined);
  }

  private async write(tx: Tx, op: MirrorOp): Promise<void> {
    // the table is the op's: its columns take the op's row
    const table = this.tables[op.table] as MirrorTableOf<Tx, Record<string, unknown>> | undefined;
    if (!table) return;
    const rows = table.rows(tx);
    const keyColumn = KEY_COLUMN[op.table];
    if (op.op === 'delete') {
      await rows.deleteMany({ where: { [keyColumn]: op.id } });
      return;
    }
    const row = op.row as unknown as Record<string, unknown>;
    const key = row[keyColumn];
    const data = { ...Object.fromEntries(table.columns.map((c) => [c, row[c]])), ...table.derived?.(row) };
    await rows.upsert({ where: { [keyColumn]: key }, create: { [keyColumn]: key, ...data }, update: data });
  }
}
