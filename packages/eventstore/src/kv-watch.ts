import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { createInbox, nanos, nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { type ProjectionLogger } from './projection-runner';

/** A key's change, as a watch delivers it. */
export interface WatchedEntry {
  readonly key: string;
  /** null: the key was deleted (or purged) */
  readonly value: string | null;
  /** the sequence of its message in the bucket's stream */
  readonly revision: number;
  /** entries of the watched keys that followed it in the stream when it was delivered (0: caught up) */
  readonly pending: number;
}

/** Where a delivery stands in its stream and consumer. */
export interface Delivery {
  readonly streamSequence: number;
  readonly deliverySequence: number;
  readonly pending: number;
}

/**
 * Reads a JetStream delivery's reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ms>.<pending>`, or with
 * `<domain>.<account hash>.` after `$JS.ACK.` (and a token at the end) from servers that add them.
 */
export function parseDelivery(reply: string): Delivery | null {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return null;
  const base = t.length === 9 ? 2 : t.length >= 11 ? 4 : -1;
  if (base < 0) return null;
  const at = (i: number) => Number(t[base + i]);
  const delivery = { streamSequence: at(3), deliverySequence: at(4), pending: at(6) };
  return Object.values(delivery).every((n) => Number.isSafeInteger(n) && n >= 0) ? delivery : null;
}

/**
 * The keys a new watch of `keys` delivers before any change: each key once, a deleted key too
 * (its marker is its last message). Read from the stream's subjects, which its info lists, not
 * by a consumer: `kv.keys()` may never end while the keys are written to.
 */
export async function watchedKeys(jsm: JetStreamManager, bucket: string, keys: string): Promise<Set<string>> {
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${keys}` });
  return new Set(Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length)));
}

/**
 * Whether a watch has delivered the state its keys had when it began: every key listed then
 * (watchedKeys) has come, or the watch is caught up. Keys, not a count of entries: a key made
 * after the listing may come before one rewritten meanwhile, and a count would be reached
 * while the rewritten key is still on its way.
 */
export class InitialState {
  private readonly awaited: Set<string>;
  private done: boolean;

  constructor(keys: ReadonlySet<string>) {
    this.awaited = new Set(keys);
    this.done = this.awaited.size === 0;
  }

  get loaded(): boolean {
    return this.done;
  }

  /** Takes a delivered entry; true only for the one that completes the initial state. */
  arrived(entry: Pick<WatchedEntry, 'key' | 'pending'>): boolean {
    if (this.done) return false;
    this.awaited.delete(entry.key);
    this.done = this.awaited.size === 0 || entry.pending === 0;
    return this.done;
  }
}

/** The server's idle heartbeat of a watch; two missed, it makes a new consumer. */
export const WATCH_HEARTBEAT_MS = 5_000;
/** A consumer nobody listens to any more (one left behind by a renewal) is removed by the server after this. */
const WATCH_INACTIVE_MS = 30_000;

export interface KvWatchOptions {
  /** WATCH_HEARTBEAT_MS unless said. */
  readonly heartbeatMs?: number;
  readonly logger?: ProjectionLogger;
}

/**
 * A watch of the keys of a KV bucket under a subject filter (`row-a.net-a1.>`): the last value of
 * each key, then every change, in order, each once. When its consumer is lost (its server died,
 * a delivery went missing) it makes a new one from past the last revision it delivered, one at a
 * time, until one is made.
 *
 * Its own consumer rather than the KV client's watch: that one, once it had missed two
 * heartbeats, made a new consumer at every tick of its heartbeat monitor until a message came
 * (the monitor is never told it recovered, and the new consumers beat every 30 s, not 5), and on
 * a loaded machine behind a leaf node no new consumer lived long enough to deliver: the agent's
 * watch stayed deaf for 89 s after its NATS server died.
 *
 * A consumer it leaves behind is not deleted (an agent may not delete consumers): with nobody
 * listening, the server removes it after WATCH_INACTIVE_MS.
 */
export class KvWatch {
  private sub: Subscription | undefined;
  /** the last stream sequence delivered, and the current consumer's last delivery */
  private revision = 0;
  private delivered = 0;
  private lastHeard = 0;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  private consumerName: string | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly bucket: string,
    private readonly keys: string,
    private readonly onEntry: (entry: WatchedEntry) => void,
    private readonly opts: KvWatchOptions = {},
  ) {}

  /** The name of the consumer it listens to now. */
  get consumer(): string | undefined {
    return this.consumerName;
  }

  private get heartbeatMs(): number {
    return this.opts.heartbeatMs ?? WATCH_HEARTBEAT_MS;
  }

  private get subjectPrefix(): string {
    return `$KV.${this.bucket}.`;
  }

  /** Resolves once its first consumer is made; throws if it cannot be. */
  async start(): Promise<void> {
    await this.consume();
    this.timer = setInterval(() => {
      if (Date.now() - this.lastHeard > 2 * this.heartbeatMs) this.renew('no heartbeat');
    }, this.heartbeatMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.sub?.unsubscribe();
  }

  /** A new consumer, once: further reasons while one is being made change nothing. */
  private renew(why: string): void {
    if (this.renewing || this.stopped) return;
    this.opts.logger?.info({ bucket: this.bucket, keys: this.keys, revision: this.revision, why }, 'watch consuming again after its last revision');
    this.renewing = (async () => {
      for (let attempt = 1; !this.stopped; attempt++) {
        try {
          await this.consume();
          return;
        } catch (err) {
          this.opts.logger?.error({ err, bucket: this.bucket, keys: this.keys, attempt }, 'watch consumer not made; trying again');
          await sleep(Math.min(this.heartbeatMs, 250 * 2 ** attempt));
        }
      }
    })().finally(() => (this.renewing = undefined));
  }

  /** Subscribes a new inbox and makes a consumer delivering to it, from past the last revision delivered; the old inbox is dropped. */
  private async consume(): Promise<void> {
    this.sub?.unsubscribe();
    // under the connection's own inbox prefix, the only place its user may subscribe (the
    // connection has it as `options`, which the NatsConnection interface leaves out)
    const inbox = createInbox((this.nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
    // listening before the consumer exists: it delivers at once
    const sub = this.nc.subscribe(inbox, { callback: (err, msg) => (err || this.sub !== sub ? undefined : this.receive(msg)) });
    this.sub = sub;
    this.delivered = 0;
    const name = `KV_WATCH_${nuid.next()}`;
    try {
      await this.jsm.consumers.add(`KV_${this.bucket}`, {
        name,
        deliver_subject: inbox,
        filter_subject: `${this.subjectPrefix}${this.keys}`,
        ...(this.revision === 0
          ? { deliver_policy: DeliverPolicy.LastPerSubject }
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.revision + 1 }),
        ack_policy: AckPolicy.None,
        flow_control: true,
        idle_heartbeat: nanos(this.heartbeatMs),
        inactive_threshold: nanos(WATCH_INACTIVE_MS),
        num_replicas: 1,
        mem_storage: true,
      });
    } catch (e) {
      sub.unsubscribe();
      throw e;
    }
    this.consumerName = name;
    this.lastHeard = Date.now();
  }

  private receive(msg: Msg): void {
    this.lastHeard = Date.now();
    if (msg.headers?.code === 100) {
      const what = msg.headers.description.toLowerCase();
      if (what === 'flowcontrol request') msg.respond();
      else if (what === 'idle heartbeat') {
        const stalled = msg.headers.get('Nats-Consumer-Stalled');
        if (stalled) this.nc.publish(stalled);
        // the consumer says what it last delivered: more than arrived is a delivery lost
        if (Number(msg.headers.get('Nats-Last-Consumer') || 0) > this.delivered) this.renew('a delivery was lost');
      }
      return;
    }
    const at = msg.reply ? parseDelivery(msg.reply) : null;
    if (!at) return;
    if (at.deliverySequence !== this.delivered + 1) {
      this.renew(`delivery ${at.deliverySequence} after ${this.delivered}`);
      return;
    }
    this.delivered = at.deliverySequence;
    if (at.streamSequence <= this.revision) return;
    this.revision = at.streamSequence;
    const operation = msg.headers?.get('KV-Operation');
    this.onEntry({
      key: msg.subject.slice(this.subjectPrefix.length),
      value: operation === 'DEL' || operation === 'PURGE' ? null : msg.string(),
      revision: at.streamSequence,
      pending: at.pending,
    });
  }
}
