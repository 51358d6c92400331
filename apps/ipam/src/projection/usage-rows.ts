import { USAGE_AGGREGATE, type RecordedEvent, type UsageEvent } from '@ncp/contracts';
import { type IpamTx } from '../infrastructure/prisma';

/**
 * Usage events come one per create and per delete of every counted resource, so a rebuild
 * folds runs of them in memory and writes each touched row once: one read, at most one DELETE
 * and one upsert per run, instead of a statement per event (and per id).
 */

/** A row of table `quota_usage`. */
export interface UsageRow {
  kind: string;
  id: string;
  project_id: string;
  confirmed: boolean;
}

export type UsageRecordedEvent = RecordedEvent<UsageEvent>;

const USAGE_EVENT_TYPES: ReadonlySet<string> = new Set<UsageEvent['type']>(['UsageReserved', 'UsageConfirmed', 'UsageReleased']);

export function isUsageEvent(e: RecordedEvent): e is UsageRecordedEvent {
  return e.envelope.aggregate === USAGE_AGGREGATE && USAGE_EVENT_TYPES.has(e.envelope.type);
}

const keyOf = (kind: string, id: string) => `${kind}\u0000${id}`;

/** The (kind, id) keys a run touches: the rows to read before folding it. */
export function usageRunKeys(run: readonly UsageRecordedEvent[]): { kinds: string[]; ids: string[] } {
  const seen = new Set<string>();
  const kinds: string[] = [];
  const ids: string[] = [];
  for (const e of run) {
    for (const id of e.envelope.data.ids) {
      const key = keyOf(e.envelope.data.kind, id);
      if (seen.has(key)) continue;
      seen.add(key);
      kinds.push(e.envelope.data.kind);
      ids.push(id);
    }
  }
  return { kinds, ids };
}

export interface UsageRunWrites {
  readonly deleteRows: readonly { kind: string; id: string }[];
  /** New rows, and rows whose owner or state changed. */
  readonly upsertRows: readonly UsageRow[];
}

/**
 * Folds a run of usage events over the rows they start from (`existing`, by kind and id),
 * with the effect of the statements `QuotaProjection` sends for each event alone: a reservation
 * leaves a counted id as it is; a confirmation makes it the project's and confirmed; a release
 * removes it only from the project that counts it.
 */
export function foldUsageRun(run: readonly UsageRecordedEvent[], existing: ReadonlyMap<string, UsageRow>): UsageRunWrites {
  const rows = new Map<string, UsageRow | null>();
  const current = (key: string) => (rows.has(key) ? (rows.get(key) ?? null) : (existing.get(key) ?? null));
  for (const { envelope: e } of run) {
    const projectId = e.aggregateId;
    const { kind, ids } = e.data;
    for (const id of ids) {
      const key = keyOf(kind, id);
      const row = current(key);
      switch (e.type) {
        case 'UsageReserved':
          if (row === null) rows.set(key, { kind, id, project_id: projectId, confirmed: false });
          break;
        case 'UsageConfirmed':
          rows.set(key, { kind, id, project_id: projectId, confirmed: true });
          break;
        case 'UsageReleased':
          if (row?.project_id === projectId) rows.set(key, null);
          break;
      }
    }
  }
  const deleteRows: { kind: string; id: string }[] = [];
  const upsertRows: UsageRow[] = [];
  for (const [key, row] of rows) {
    const before = existing.get(key);
    if (row === null) {
      if (before) deleteRows.push({ kind: before.kind, id: before.id });
    } else if (!before || before.project_id !== row.project_id || before.confirmed !== row.confirmed) {
      upsertRows.push(row);
    }
  }
  return { deleteRows, upsertRows };
}

/** Reads the rows a run touches, folds it, and writes the result: at most three statements. */
export async function applyUsageRun(tx: IpamTx, run: readonly UsageRecordedEvent[]): Promise<void> {
  const keys = usageRunKeys(run);
  if (keys.ids.length === 0) return;
  const found = await tx.$queryRaw<UsageRow[]>`
    SELECT q.kind, q.id, q.project_id, q.confirmed FROM quota_usage q
      JOIN unnest(${keys.kinds}::text[], ${keys.ids}::text[]) AS k(kind, id) ON q.kind = k.kind AND q.id = k.id`;
  const w = foldUsageRun(run, new Map(found.map((r) => [keyOf(r.kind, r.id), r])));
  if (w.deleteRows.length > 0) {
    await tx.$executeRaw`DELETE FROM quota_usage q USING unnest(${w.deleteRows.map((r) => r.kind)}::text[], ${w.deleteRows.map((r) => r.id)}::text[]) AS d(kind, id)
      WHERE q.kind = d.kind AND q.id = d.id`;
  }
  if (w.upsertRows.length > 0) {
    const u = w.upsertRows;
    await tx.$executeRaw`INSERT INTO quota_usage (kind, id, project_id, confirmed)
      SELECT * FROM unnest(${u.map((r) => r.kind)}::text[], ${u.map((r) => r.id)}::text[], ${u.map((r) => r.project_id)}::text[], ${u.map((r) => r.confirmed)}::boolean[])
      ON CONFLICT (kind, id) DO UPDATE SET project_id = EXCLUDED.project_id, confirmed = EXCLUDED.confirmed`;
  }
}
