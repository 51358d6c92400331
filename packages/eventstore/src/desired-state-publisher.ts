import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { DESIRED_STATE_BUCKET, parseDesiredKey, type DesiredKind, type Naming } from '@ncp/contracts';
import { type ProjectionLogger } from './projection-runner';
import { SerialPass } from './serial-pass';
import { whileClusterSettles } from './cluster-settling';

/**
 * The current entries of a KV bucket whose keys match `keys` (a subject filter), read in one
 * pass over the bucket's stream (the last message of each key), not with a request per key:
 * tens of thousands of entries take a moment instead of most of a minute at start.
 */
export async function readBucket(nc: NatsConnection, bucket: string, keys: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const consumer = await jetstream(nc).consumers.get(`KV_${bucket}`, {
    filter_subjects: `$KV.${bucket}.${keys}`,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  if ((await consumer.info(true)).num_pending === 0) return entries;
  const prefix = `$KV.${bucket}.`;
  const messages = await consumer.consume({ max_messages: 1000 });
  try {
    for await (const m of messages) {
      const operation = m.headers?.get('KV-Operation');
      const key = m.subject.slice(prefix.length);
      if (operation === 'DEL' || operation === 'PURGE') entries.delete(key);
      else entries.set(key, m.string());
      if (m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return entries;
}

/**
 * Keeps a service's share of the desired-state bucket (`<row>.<host>.<kind>.<id>` for the
 * kinds it owns) equal to what `compute` says. Level-triggered: after a projection moves,
 * everything is recomputed from it and only the keys whose value changed are written, so an
 * agent sees no churn and a restarted service converges from whatever the bucket holds.
 */
export class DesiredStatePublisher {
  private kv: KV | undefined;
  private readonly published = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly passes = new SerialPass(
    () => this.publish(),
    (err: unknown) => this.logger?.error({ err, kinds: this.kinds }, 'publishing desired state failed'),
  );

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly kinds: readonly DesiredKind[],
    /** key -> JSON value of every entry of `kinds` that should exist */
    private readonly compute: () => Promise<Map<string, string>>,
    private readonly logger?: ProjectionLogger,
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
    this.schedule();
  }

  /** Publishes nothing more: a pass under way writes what it computed, none follows. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.kv = undefined;
  }

  /** Something changed: recompute soon (changes arriving together are published together). */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.passes.request();
    }, 20);
  }

  async publish(): Promise<void> {
    const kv = this.kv;
    if (!kv) return;
    const wanted = await this.compute();
    for (const [key, value] of wanted) {
      if (this.published.get(key) === value) continue;
      await kv.put(key, value);
      this.published.set(key, value);
    }
    for (const key of [...this.published.keys()]) {
      const kind = parseDesiredKey(key)?.kind;
      if (wanted.has(key) || kind === undefined || !(this.kinds as readonly string[]).includes(kind)) continue;
      await kv.delete(key);
      this.published.delete(key);
    }
  }
}
