import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { DESIRED_STATE_BUCKET, parseDesiredKey, type DesiredKind, type Naming } from '@ncp/contracts';
import { type ProjectionLogger } from './projection-runner';
import { SerialPass } from './serial-pass';

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
    this.kv = await new Kvm(this.nc).create(this.naming.bucket(DESIRED_STATE_BUCKET), { history: 1 });
    for (const kind of this.kinds) {
      for await (const key of await this.kv.keys(`*.*.${kind}.*`)) {
        const entry = await this.kv.get(key);
        if (entry?.operation === 'PUT') this.published.set(key, entry.string());
      }
    }
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
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
