import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { DESIRED_STATE_BUCKET, parseDesiredKey, type DesiredKind, type Naming } from '@ncp/contracts';
import { backoffMs } from './backoff';
import { type ProjectionLogger } from './projection-runner';
import { SerialPass } from './serial-pass';
import { whileClusterSettles } from './cluster-settling';

/** A KV entry as a bucket's stream holds it. */
export interface BucketEntry {
  readonly value: string;
  /** the sequence of its message in the bucket's stream */
  readonly revision: number;
  readonly created: Date;
}

/**
 * The current entries of a KV bucket whose keys match `keys` (a subject filter), read in one
 * pass over the bucket's stream (the last message of each key), not with a request per key:
 * tens of thousands of entries take a moment instead of most of a minute at start.
 *
 * The read ends once every key the stream held when it began has come (its last message then,
 * or a later one: a key rewritten meanwhile has its old message replaced), or when nothing is
 * pending. Neither the consumer's pending count nor an idle heartbeat ends it for sure while
 * the keys are written to: both `kv.keys()` and a read waiting for a pending count of 0 never
 * ended, a few times in a hundred, while one key was put every 20 ms. Stopping at the last
 * message when the read began lost a key rewritten after it. And the pending count can say 0
 * before a key being rewritten has come (seen once in CI, with two keys written in turns every
 * 10 ms): a key still awaited then is read by itself, its last message by subject.
 */
export async function readBucketEntries(nc: NatsConnection, bucket: string, keys: string): Promise<Map<string, BucketEntry>> {
  const entries = new Map<string, BucketEntry>();
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const filter = `${prefix}${keys}`;
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  const awaited = new Set(Object.keys(info.state.subjects ?? {}));
  if (awaited.size === 0) return entries;
  const take = (subject: string, operation: string | undefined, entry: BucketEntry) => {
    const key = subject.slice(prefix.length);
    if (operation === 'DEL' || operation === 'PURGE') entries.delete(key);
    else entries.set(key, entry);
    awaited.delete(subject);
  };
  const consumer = await js.consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
  const messages = await consumer.consume({ max_messages: 1000 });
  try {
    for await (const m of messages) {
      take(m.subject, m.headers?.get('KV-Operation'), { value: m.string(), revision: m.seq, created: m.time });
      if (awaited.size === 0 || m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  for (const subject of [...awaited]) {
    // gone since the read began (a purge, an age limit): nothing to read
    const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    if (m) take(subject, m.header?.get('KV-Operation'), { value: m.string(), revision: m.seq, created: m.time });
  }
  return entries;
}

/** The current values of a KV bucket's keys matching `keys` (readBucketEntries). */
export async function readBucket(nc: NatsConnection, bucket: string, keys: string): Promise<Map<string, string>> {
  return new Map([...(await readBucketEntries(nc, bucket, keys))].map(([key, entry]) => [key, entry.value]));
}

/**
 * What a pass recomputes: `'all'`, or the partitions (a DHCP server's network, say) whose
 * inputs changed. Entries outside every partition are recomputed by every pass.
 */
export type DesiredScope = 'all' | ReadonlySet<string>;

export interface DesiredStatePublisherOptions {
  /**
   * The partition a key's entry is computed in (its inputs change only with that partition's),
   * or undefined for an entry every pass recomputes. Without it every pass recomputes everything.
   */
  readonly partitionOf?: (key: string) => string | undefined;
  /** A pass at least this long after the last whole one recomputes everything again (ms). */
  readonly wholeEveryMs?: number;
}

/** A pass waits at least this long after a change: changes arriving together are published together (ms). */
const GATHER_MS = 5;

/**
 * Keeps a service's share of the desired-state bucket (`<row>.<host>.<kind>.<id>` for the
 * kinds it owns) equal to what `compute` says. Level-triggered: after a projection moves, what
 * depends on what changed is recomputed from it and only the keys whose value changed are
 * written, so an agent sees no churn and a restarted service converges from whatever the
 * bucket holds. With partitions, a pass recomputes only those `schedule` named since the last
 * (as Felix's dirty sets), everything at start, after a failed pass and now and then; and a
 * pass waits after the previous one at least as long as that one took, so recomputing never
 * takes more than about half of the process however fast the projection moves.
 */
export class DesiredStatePublisher {
  private kv: KV | undefined;
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private dirty: 'all' | Set<string> = 'all';
  private lastWholeAt = 0;
  /** When the last pass may be followed by the next: as long after its end as it took. */
  private nextPassAt = 0;
  /** failed passes in a row */
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly passes = new SerialPass(
    async () => {
      await this.publish();
      this.failures = 0;
    },
    (err: unknown) => {
      this.failures++;
      this.logger?.error({ err, kinds: this.kinds, failures: this.failures }, 'publishing desired state failed');
      this.retryLater();
    },
  );

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly kinds: readonly DesiredKind[],
    /** key -> JSON value of every entry of `kinds` that should exist, within the scope */
    private readonly compute: (scope: DesiredScope) => Promise<Map<string, string>>,
    private readonly logger?: ProjectionLogger,
    private readonly opts: DesiredStatePublisherOptions = {},
  ) {}

  async start(): Promise<void> {
    const bucket = this.naming.bucket(DESIRED_STATE_BUCKET);
    const kv = await whileClusterSettles(() => new Kvm(this.nc).create(bucket, { history: 1 }));
    // started again after a stop (a replica that leads again): another leader wrote meanwhile
    this.published.clear();
    for (const kind of this.kinds) {
      for (const [key, value] of await whileClusterSettles(() => readBucket(this.nc, bucket, `*.*.${kind}.*`))) this.published.set(key, value);
    }
    this.kv = kv;
    this.dirty = 'all';
    this.schedule();
  }

  /** Publishes nothing more: a pass under way writes what it computed, none follows. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.timer = undefined;
    this.retryTimer = undefined;
    this.kv = undefined;
  }

  /**
   * A failed pass (the bucket unreachable a while, say) is tried again on its own, everything
   * recomputed: waiting for the next change could leave the agents on stale entries for as
   * long as nothing changes. 0.5 s, doubling per failure in a row, up to 30 s.
   */
  private retryLater(): void {
    if (!this.kv || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, backoffMs(this.failures));
  }

  /**
   * Something changed: recompute soon. `partitions`: what changed, when known (see
   * `partitionOf`); without them, anything may have.
   */
  schedule(partitions?: Iterable<string>): void {
    if (partitions === undefined || this.opts.partitionOf === undefined) this.dirty = 'all';
    else if (this.dirty !== 'all') for (const p of partitions) this.dirty.add(p);
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.passes.request();
      },
      Math.max(GATHER_MS, this.nextPassAt - Date.now()),
    );
  }

  /**
   * Something changed that may leave every entry as it is: recompute soon unless `unchanged`
   * says it does, given the entries published. It is asked only while no pass is due, under
   * way or to be tried again, so that those entries were computed from the projection as it
   * was before the change (a pass reading while the change committed might have missed it).
   * `partitions` (as for `schedule`) are kept for the next pass even when this one is spared.
   */
  scheduleUnless(unchanged: (published: ReadonlyMap<string, string>) => boolean, partitions?: Iterable<string>): void {
    const settled = this.kv !== undefined && this.dirty !== 'all' && !this.timer && !this.retryTimer && !this.passes.busy;
    if (settled && unchanged(this.published)) {
      if (partitions !== undefined && this.dirty !== 'all') for (const p of partitions) this.dirty.add(p);
    } else this.schedule(partitions);
  }

  async publish(): Promise<void> {
    const kv = this.kv;
    if (!kv) return;
    const startedAt = Date.now();
    let scope: DesiredScope = this.dirty;
    if (startedAt - this.lastWholeAt >= (this.opts.wholeEveryMs ?? 60_000)) scope = 'all';
    this.dirty = new Set();
    try {
      const wanted = await this.compute(scope);
      for (const [key, value] of wanted) {
        if (this.published.get(key) === value) continue;
        await kv.put(key, value);
        this.published.set(key, value);
      }
      for (const key of [...this.published.keys()]) {
        if (wanted.has(key) || !this.owns(key) || !this.inScope(key, scope)) continue;
        await kv.delete(key);
        this.published.delete(key);
      }
    } catch (err) {
      // what this pass was to recompute is recomputed by the next, with everything else
      this.dirty = 'all';
      throw err;
    }
    if (scope === 'all') this.lastWholeAt = startedAt;
    const endedAt = Date.now();
    this.nextPassAt = endedAt + (endedAt - startedAt);
  }

  private owns(key: string): boolean {
    const kind = parseDesiredKey(key)?.kind;
    return kind !== undefined && (this.kinds as readonly string[]).includes(kind);
  }

  private inScope(key: string, scope: DesiredScope): boolean {
    if (scope === 'all') return true;
    const partition = this.opts.partitionOf?.(key);
    return partition === undefined || scope.has(partition);
  }
}
