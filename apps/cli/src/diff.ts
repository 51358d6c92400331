import { Client } from 'pg';

/** What differs between two row sets (rows as JSON text): a multiset difference. Pure. */
export function diffRows(live: readonly string[], replayed: readonly string[]): { onlyLive: string[]; onlyReplayed: string[] } {
  const count = new Map<string, number>();
  for (const r of live) count.set(r, (count.get(r) ?? 0) + 1);
  const onlyReplayed: string[] = [];
  for (const r of replayed) {
    const n = count.get(r) ?? 0;
    if (n > 0) count.set(r, n - 1);
    else onlyReplayed.push(r);
  }
  const onlyLive = [...count.entries()].flatMap(([r, n]) => Array<string>(n).fill(r));
  return { onlyLive: onlyLive.sort(), onlyReplayed: onlyReplayed.sort() };
}

export interface TableDiff {
  readonly table: string;
  readonly live: number;
  readonly replayed: number;
  readonly onlyLive: readonly string[];
  readonly onlyReplayed: readonly string[];
}

/** Tables that are bookkeeping, not the projection (they differ by design). */
// Not projections: bookkeeping, and the quota counters' record of whose resource is whose
// (kept by a reaction, not rebuilt by a replay).
const SKIPPED = new Set(['projection_checkpoints', 'parked_events', '_prisma_migrations', 'aggregate_snapshots', 'quota_usage_items']);
const NAME = /^[a-z_][a-z0-9_]*$/;

/** Every table of `liveSchema` compared row by row with the same table in `replaySchema`. */
export async function diffSchemas(databaseUrl: string, liveSchema: string, replaySchema: string): Promise<TableDiff[]> {
  if (!NAME.test(liveSchema) || !NAME.test(replaySchema)) throw new Error('schema names are lower-case letters, digits and _');
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = async (schema: string) =>
      (
        await client.query<{ t: string }>(
          "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
          [schema],
        )
      ).rows
        .map((r) => r.t)
        .filter((t) => NAME.test(t) && !SKIPPED.has(t));
    const replayed = new Set(await tables(replaySchema));
    if (replayed.size === 0) throw new Error(`schema ${replaySchema} has no tables: replay into it first`);
    const rows = async (schema: string, table: string) =>
      (await client.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM "${schema}"."${table}" t ORDER BY 1`)).rows.map((r) => r.r);
    const out: TableDiff[] = [];
    for (const table of await tables(liveSchema)) {
      const a = await rows(liveSchema, table);
      const b = replayed.has(table) ? await rows(replaySchema, table) : [];
      out.push({ table, live: a.length, replayed: b.length, ...diffRows(a, b) });
    }
    return out;
  } finally {
    await client.end();
  }
}
