import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { type KV } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { type Naming } from '@ncp/contracts';
import { ensureBucket, leaseBucket } from './buckets';

export interface LeaderLeaseOptions {
  /** Names the lease: one holder per key (a service's context). */
  readonly key: string;
  /** Who holds it: unique among the replicas (INSTANCE_ID). */
  readonly holder: string;
  /** A holder that stops renewing loses the lease this long after its last renewal. */
  readonly ttlSeconds: number;
  /** Replicas of the lease bucket's stream (1, or 3 on a NATS cluster). */
  readonly replicas?: number;
  /** Called when this replica becomes the leader; a failure gives the lease up (another replica may do better). */
  readonly onAcquired: () => Promise<void>;
  /** Called when it stops being the leader: another holds the lease, or the lease is stopped. */
  readonly onLost: () => Promise<void>;
  readonly logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

const wrongSequence = (e: unknown) =>
  e instanceof JetStreamApiError && (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * Leadership of one replica among a service's replicas: a key in KV bucket `ncp_leases_<key>`
 * whose entries expire after the bucket's max age (the TTL). The leader renews its entry a few times
 * per TTL, each write conditional on the revision it last wrote; the others try to create the
 * key, which succeeds only once it is gone (expired, or deleted by a leader that stopped).
 *
 * A leader that cannot reach NATS keeps leading (what it leads needs NATS, so it does nothing
 * meanwhile) until it learns another replica holds the key, and then stops. What runs under
 * the lease must stay safe when two replicas briefly both run it: every write it makes goes
 * through a decider and an expected-sequence append, or is a level-triggered put.
 */
export class LeaderLease {
  private kv: KV | undefined;
  private revision = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly opts: LeaderLeaseOptions,
  ) {}

  get isLeader(): boolean {
    return this.revision > 0;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.kv = await ensureBucket(this.nc, leaseBucket(this.naming, this.opts.key), { replicas: this.opts.replicas ?? 1, ttlMs: this.opts.ttlSeconds * 1000 });
    await this.tick();
    this.timer = setInterval(() => void this.tick(), (this.opts.ttlSeconds * 1000) / 3);
    this.timer.unref();
  }

  /** Stops leading (what runs under the lease first), and hands the lease over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    if (!this.isLeader) return;
    const revision = this.revision;
    this.revision = 0;
    await this.opts.onLost();
    await this.kv?.delete(this.opts.key, { previousSeq: revision }).catch(() => undefined);
  }

  /** One renewal or attempt, never two at once. */
  private tick(): Promise<void> {
    this.ticking ??= this.renewOrAcquire()
      .catch((err: unknown) => this.opts.logger?.warn({ err, lease: this.opts.key }, 'leader lease: NATS did not answer; trying again'))
      .finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async renewOrAcquire(): Promise<void> {
    const kv = this.kv;
    if (!kv || this.stopped) return;
    const { key, holder } = this.opts;
    if (this.isLeader) {
      try {
        this.revision = await kv.update(key, holder, this.revision);
      } catch (e) {
        if (!wrongSequence(e)) throw e;
        // A renewal that timed out may have been written after all: the key is still ours then.
        const entry = await kv.get(key);
        if (entry?.operation === 'PUT' && entry.string() === holder) this.revision = entry.revision;
        else await this.lose(entry?.operation === 'PUT' ? entry.string() : null);
      }
      return;
    }
    let revision: number;
    try {
      revision = await kv.create(key, holder);
    } catch (e) {
      if (!wrongSequence(e)) throw e;
      const entry = await kv.get(key);
      // our own entry, written by an attempt that timed out, or by this instance before a restart
      if (entry?.operation !== 'PUT' || entry.string() !== holder) return;
      revision = entry.revision;
    }
    if (this.stopped) {
      await kv.delete(key, { previousSeq: revision }).catch(() => undefined);
      return;
    }
    this.revision = revision;
    this.opts.logger?.info({ lease: key, holder }, 'leader lease acquired');
    try {
      await this.opts.onAcquired();
    } catch (err) {
      this.opts.logger?.warn({ err, lease: key }, 'leader lease: starting what the leader runs failed; giving the lease up');
      this.revision = 0;
      await this.opts.onLost().catch(() => undefined);
      await kv.delete(key, { previousSeq: revision }).catch(() => undefined);
    }
  }

  private async lose(holder: string | null): Promise<void> {
    this.revision = 0;
    this.opts.logger?.warn({ lease: this.opts.key, holder }, 'leader lease lost: another replica leads now');
    await this.opts.onLost();
  }
}
