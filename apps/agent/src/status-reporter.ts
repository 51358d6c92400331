import { type ResourceReport } from '@ncp/contracts';

const MAX_BATCH = 500;
/** Bounds one report's size too (the learned routes of BGP sessions make reports of some KB each), well under NATS's max_payload. */
const MAX_BATCH_BYTES = 512 * 1024;

/** What is compared: the status, the reason and a BGP session's details (its learned routes). */
interface Reported {
  readonly status: string;
  readonly reason: string;
  readonly session: string | undefined;
}

const sessionText = (r: ResourceReport): string | undefined => (r.session === undefined ? undefined : JSON.stringify(r.session));

const reportedAs = (r: ResourceReport): Reported => ({ status: r.status, reason: r.reason, session: sessionText(r) });

const unchanged = (was: Reported | undefined, r: ResourceReport): boolean =>
  was !== undefined && was.status === r.status && was.reason === r.reason && was.session === sessionText(r);

/**
 * Decides which statuses to report: only those that changed since the last report of
 * this process (so a restarted agent reports everything once), in bounded batches. Every pass
 * asks about every resource of the host, so a resource is looked up by its kind and id as they
 * are, with no key or fingerprint text made for it.
 */
export class StatusReporter {
  private readonly reported = new Map<string, Map<string, Reported>>();

  /** Forget what was reported: the next call reports every resource again. */
  reset(): void {
    this.reported.clear();
  }

  changes(current: readonly ResourceReport[]): ResourceReport[][] {
    const changed = current.filter((r) => !unchanged(this.reported.get(r.kind)?.get(r.id), r));
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
    for (const r of batch) {
      let ofKind = this.reported.get(r.kind);
      if (ofKind === undefined) this.reported.set(r.kind, (ofKind = new Map<string, Reported>()));
      ofKind.set(r.id, reportedAs(r));
    }
  }

  /** Resources no longer on this host (not among `current`) stop being tracked. */
  retain(current: readonly ResourceReport[]): void {
    const kept = new Map<string, Set<string>>();
    for (const r of current) {
      let ids = kept.get(r.kind);
      if (ids === undefined) kept.set(r.kind, (ids = new Set()));
      ids.add(r.id);
    }
    for (const [kind, ofKind] of this.reported) {
      const ids = kept.get(kind);
      if (ids === undefined) this.reported.delete(kind);
      else for (const id of ofKind.keys()) if (!ids.has(id)) ofKind.delete(id);
    }
  }
}
