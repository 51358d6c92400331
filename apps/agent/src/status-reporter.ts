import { type ResourceReport } from '@ncp/contracts';

const MAX_BATCH = 500;
/** Bounds one report's size too (the learned routes of BGP sessions make reports of some KB each), well under NATS's max_payload. */
const MAX_BATCH_BYTES = 512 * 1024;

/** What is compared: the status, the reason and a BGP session's details (its learned routes). */
const fingerprint = (r: ResourceReport): string =>
  r.session === undefined ? `${r.status}|${r.reason}` : `${r.status}|${r.reason}|${JSON.stringify(r.session)}`;

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
    const changed = current.filter((r) => this.reported.get(`${r.kind}:${r.id}`) !== fingerprint(r));
    const batches: ResourceReport[][] = [];
    let batch: ResourceReport[] = [];
    let bytes = 0;
    for (const r of changed) {
      const size = Buffer.byteLength(JSON.stringify(r));
      if (batch.length > 0 && (batch.length >= MAX_BATCH || bytes + size > MAX_BATCH_BYTES)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(r);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
    return batches;
  }

  /** Call once a batch is stored in the stream. */
  confirm(batch: readonly ResourceReport[]): void {
    for (const r of batch) this.reported.set(`${r.kind}:${r.id}`, fingerprint(r));
  }

  /** Resources no longer on this host stop being tracked. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.reported.keys()) if (!keys.has(key)) this.reported.delete(key);
  }
}
