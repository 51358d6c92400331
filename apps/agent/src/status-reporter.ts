import { type ResourceReport } from '@ncp/contracts';

const MAX_BATCH = 500;

/**
 * Decides which statuses to report: only those that changed since the last report of
 * this process (so a restarted agent reports everything once), in bounded batches.
 */
export class StatusReporter {
  private readonly reported = new Map<string, string>();

  /** Forget what was reported: the next call reports every resource again. */
  reset(): void {
    this.reported.clear();
  }

  changes(current: readonly ResourceReport[]): ResourceReport[][] {
    const changed = current.filter((r) => this.reported.get(`${r.kind}:${r.id}`) !== `${r.status}|${r.reason}`);
    const batches: ResourceReport[][] = [];
    for (let i = 0; i < changed.length; i += MAX_BATCH) batches.push(changed.slice(i, i + MAX_BATCH));
    return batches;
  }

  /** Call once a batch is stored in the stream. */
  confirm(batch: readonly ResourceReport[]): void {
    for (const r of batch) this.reported.set(`${r.kind}:${r.id}`, `${r.status}|${r.reason}`);
  }

  /** Resources no longer on this host stop being tracked. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.reported.keys()) if (!keys.has(key)) this.reported.delete(key);
  }
}
