import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { DESIRED_KINDS, DESIRED_STATE_BUCKET, desiredKey, parseDesiredKey, type L2HostIntent, type Naming, type RecordedEvent } from '@ncp/contracts';
import { PULL_EXPIRES_MS, batchesOf, readBucket, whileClusterSettles, type JetStreamEventStore, type SnapshotStore } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { L2_TOPOLOGY_JSON_VERSION, L2Topology, type L2Changes, type L2TopologyJson } from './l2-topology';

/** A frozen intent's JSON, made once: the topology hands out a port's intent again until the port changes. */
const frozenJson = new WeakMap<object, string>();
function entryJson(intent: object): string {
  if (!Object.isFrozen(intent)) return JSON.stringify(intent);
  let json = frozenJson.get(intent);
  if (json === undefined) frozenJson.set(intent, (json = JSON.stringify(intent)));
  return json;
}

/** The KV entries that carry a host's L2 intent: one per network and one per port. */
export function l2Entries(row: string, host: string, intent: L2HostIntent): Map<string, string> {
  const entries = new Map<string, string>();
  for (const n of intent.networks) entries.set(desiredKey(row, host, DESIRED_KINDS.l2Network, n.id), entryJson(n));
  for (const p of intent.ports) entries.set(desiredKey(row, host, DESIRED_KINDS.l2Port, p.id), entryJson(p));
  return entries;
}

/**
 * The L2 entries in the bucket as last published, with each host's keys: a host's flush looks
 * at its own keys only, not at every key of every host.
 */
class PublishedEntries {
  private readonly values = new Map<string, string>();
  private readonly byHost = new Map<string, Set<string>>();

  get size(): number {
    return this.values.size;
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  set(key: string, value: string): void {
    const host = this.values.has(key) ? undefined : parseDesiredKey(key)?.host;
    if (host !== undefined) {
      let keys = this.byHost.get(host);
      if (keys === undefined) this.byHost.set(host, (keys = new Set()));
      keys.add(key);
    }
    this.values.set(key, value);
  }

  delete(key: string): void {
    if (!this.values.delete(key)) return;
    const host = parseDesiredKey(key)?.host;
    if (host !== undefined) this.byHost.get(host)?.delete(key);
  }

  /** The hosts with entries. */
  hosts(): string[] {
    return [...this.byHost].filter(([, keys]) => keys.size > 0).map(([host]) => host);
  }

  /** A host's keys, as they are now. */
  keysOf(host: string): string[] {
    return [...(this.byHost.get(host) ?? [])];
  }

  clear(): void {
    this.values.clear();
    this.byHost.clear();
  }
}

/** The kinds of desired state this publisher owns; other services' keys of a host are never its to touch. */
const L2_KINDS: readonly string[] = [DESIRED_KINDS.l2Network, DESIRED_KINDS.l2Port];

export interface PublisherOptions {
  /** A snapshot of the fold is saved once the stream has moved this many events past the last one. */
  readonly snapshotEvery?: number;
}

/**
 * Computes every host's desired L2 state from the event stream and keeps the KV bucket
 * in step: level-triggered (the whole entry set of a dirty host is recomputed and
 * diffed against what is published), so a restart or a missed change heals itself.
 *
 * A start does not read the stream from sequence 1: the fold is snapshotted (with the stream
 * sequence it reached, in IPAM's database, like a projection's checkpoint) and a start reads
 * only the events after it. A snapshot is saved only after everything folded up to its
 * sequence has been published, so it is never ahead of the bucket; one of another version
 * (the fold's shape changed) or ahead of the stream (a new stream) is ignored and the fold
 * starts over from sequence 1. Once caught up after a start, every host is compared with the
 * bucket, so whatever changed while IPAM was down is published then.
 */
export class DesiredStatePublisher {
  topology = new L2Topology();
  private kv: KV | undefined;
  private readonly published = new PublishedEntries();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  /** the last stream sequence folded */
  private position = 0;
  private savedAt = 0;
  /** the stream sequence up to which everything folded has been published */
  private flushedTo = 0;
  private saving: Promise<void> | undefined;
  /** hosts whose last publication failed: retried with the next flush, and no snapshot meanwhile */
  private readonly failed = new Set<string>();
  private stopping = false;
  private caughtUpResolve: (() => void) | undefined;
  /** Resolves once the history has been read and published. */
  readonly caughtUp = new Promise<void>((resolve) => (this.caughtUpResolve = resolve));
  private readonly snapshotEvery: number;

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly naming: Naming,
    private readonly snapshots: SnapshotStore,
    private readonly logger: Logger,
    opts: PublisherOptions = {},
  ) {
    this.snapshotEvery = opts.snapshotEvery ?? 10_000;
  }

  /** Where the snapshot is kept: per stream, so a new stream never starts from an old one's fold. */
  get snapshotKey(): string {
    return `desired-state.l2.${this.store.streamName}`;
  }

  /** The stream sequence folded so far. */
  get sequence(): number {
    return this.position;
  }

  /**
   * Starts the fold in the background: what the bucket holds, the snapshot, then the events
   * after it. Nothing here is needed to serve the API, so a start does not wait for it.
   */
  async start(): Promise<void> {
    const bucket = this.naming.bucket(DESIRED_STATE_BUCKET);
    this.stopping = false;
    this.kv = await whileClusterSettles(() => new Kvm(this.store.nc).create(bucket, { history: 1 }));
    this.loop = this.foldUntilStopped(bucket);
  }

  /** The fold, from the snapshot; started over when it fails (NATS lost its leader meanwhile, say). */
  private async foldUntilStopped(bucket: string): Promise<void> {
    while (!this.stopping) {
      // a fresh start (also a replica that leads again after a stop): another leader may have published meanwhile
      this.topology = new L2Topology();
      this.published.clear();
      this.failed.clear();
      this.position = this.savedAt = this.flushedTo = 0;
      try {
        await this.boot(bucket);
        if (this.stopping) return;
        this.logger.warn({}, 'desired state: the stream consumer ended; starting the fold again');
      } catch (err) {
        if (this.stopping) return;
        this.logger.error({ err }, 'desired state: the fold stopped; starting it again');
        await sleep(1000);
      }
    }
  }

  private async boot(bucket: string): Promise<void> {
    const started = performance.now();
    for (const kind of L2_KINDS) for (const [key, value] of await readBucket(this.store.nc, bucket, `*.*.${kind}.*`)) this.published.set(key, value);
    const last = await this.store.streamLastSequence();
    const snapshot = await this.snapshots.load(this.snapshotKey);
    if (snapshot && snapshot.version === L2_TOPOLOGY_JSON_VERSION && snapshot.sequence <= last) {
      this.topology = L2Topology.fromJSON(snapshot.state as L2TopologyJson);
      this.position = snapshot.sequence;
      this.savedAt = snapshot.sequence;
      this.flushedTo = snapshot.sequence;
    } else if (snapshot) {
      this.logger.warn(
        { version: snapshot.version, sequence: snapshot.sequence, streamLast: last },
        'desired state: snapshot not usable (another version or a newer stream); folding from sequence 1',
      );
    }
    const from = this.position + 1;
    const consumer = await this.store.js.consumers.get(this.store.streamName, {
      filter_subjects: this.naming.allEvents,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    const messages = await consumer.consume({ max_messages: 1000, expires: PULL_EXPIRES_MS });
    this.messages = messages;
    if (this.stopping) await messages.close();
    const report = () =>
      this.logger.info(
        {
          fromSnapshot: snapshot ? this.savedAt : null,
          events: this.position - from + 1,
          published: this.published.size,
          ms: Math.round(performance.now() - started),
        },
        'desired state caught up',
      );
    if (last < from) {
      await this.flush(this.allHosts(), 'all');
      this.flushedTo = this.position;
      this.caughtUpResolve?.();
      report();
    }
    await this.run(messages, last, report);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    await this.saving;
    // a clean stop leaves a snapshot of everything published: the next start reads nothing
    // (not in the middle of a catch-up, whose folded events are not all published yet)
    if (this.failed.size === 0 && this.position === this.flushedTo && this.position > this.savedAt) await this.save();
  }

  private relevant(subject: string): boolean {
    try {
      const { context, aggregate } = this.naming.parseEventSubject(subject);
      return (context === 'ipam' && aggregate === 'network') || (context === 'agent' && aggregate === 'agent');
    } catch {
      return false;
    }
  }

  private async run(messages: ConsumerMessages, startLast: number, report: () => void): Promise<void> {
    let dirty = new Set<string>();
    let caughtUp = startLast < this.position + 1;
    for await (const batch of batchesOf(messages, 1000)) {
      // Buffered messages come without a turn of the event loop: let requests in between
      // batches (after a start, the API must not wait for the whole tail to be folded).
      await new Promise((resolve) => setImmediate(resolve));
      for (const m of batch) {
        if (m.seq <= this.position) continue;
        this.position = m.seq;
        if (!this.relevant(m.subject)) continue;
        let recorded: RecordedEvent;
        try {
          recorded = this.store.decode(m);
          for (const host of this.topology.apply(recorded)) dirty.add(host);
        } catch (err) {
          // An event IPAM cannot read is parked by its projection; here it changes nothing.
          this.logger.error({ err, sequence: m.seq, subject: m.subject }, 'desired state: event skipped, it cannot be read');
        }
      }
      if (!caughtUp && this.position < startLast) continue;
      if (!caughtUp) {
        // the first time caught up after a start: every host, against what the bucket holds
        caughtUp = true;
        dirty = this.allHosts();
        this.topology.takeChanges();
        await this.flush(dirty, 'all');
        this.caughtUpResolve?.();
        report();
      } else {
        await this.flush(dirty, this.topology.takeChanges());
      }
      this.flushedTo = this.position;
      dirty = new Set();
      if (this.failed.size === 0 && this.position - this.savedAt >= this.snapshotEvery && !this.saving) {
        this.saving = this.save().finally(() => (this.saving = undefined));
      }
    }
  }

  /** Saves the fold at the sequence it reached; its JSON is taken now, written in the background. */
  private async save(): Promise<void> {
    const sequence = this.position;
    const state = this.topology.toJSON();
    try {
      await this.snapshots.save(this.snapshotKey, { sequence, version: L2_TOPOLOGY_JSON_VERSION, state });
      this.savedAt = sequence;
    } catch (err) {
      this.logger.warn({ err, sequence }, 'desired state: snapshot not saved');
    }
  }

  /** Every host the fold knows or the bucket has L2 entries for. */
  private allHosts(): Set<string> {
    return new Set([...this.topology.hosts(), ...this.published.hosts()]);
  }

  /**
   * Brings each host's entries in the bucket to the fold: all of them with `changes` 'all' (and
   * for a host whose last flush failed), else only those of the networks and ports `changes`
   * names, which are all a change can have altered on a host it made dirty.
   */
  private async flush(hosts: ReadonlySet<string>, changes: L2Changes): Promise<void> {
    const kv = this.kv;
    if (!kv) return;
    for (const host of new Set([...hosts, ...this.failed])) {
      // one host at a time, letting requests in between: a full pass after a start is long
      await new Promise((resolve) => setImmediate(resolve));
      const row = this.topology.agentOf(host)?.row;
      const scoped = changes !== 'all' && !this.failed.has(host) && row !== undefined ? changes : undefined;
      const wanted =
        row === undefined ? new Map<string, string>() : l2Entries(row, host, scoped ? this.topology.intentOf(host, scoped) : this.topology.intentFor(host));
      // the keys this flush answers for: the host's, or those of the networks and ports in scope
      const considered =
        scoped && row !== undefined
          ? [
              ...[...scoped.networks].map((id) => desiredKey(row, host, DESIRED_KINDS.l2Network, id)),
              ...[...scoped.ports].map((id) => desiredKey(row, host, DESIRED_KINDS.l2Port, id)),
            ].filter((key) => this.published.get(key) !== undefined)
          : this.published.keysOf(host);
      try {
        for (const [key, value] of wanted) {
          if (this.published.get(key) === value) continue;
          await kv.put(key, value);
          this.published.set(key, value);
        }
        for (const key of considered) {
          if (wanted.has(key)) continue;
          await kv.delete(key);
          this.published.delete(key);
        }
        this.failed.delete(host);
      } catch (err) {
        // Level-triggered: the next flush recomputes everything for it.
        this.failed.add(host);
        this.logger.error({ err, host }, 'publishing desired state failed');
      }
    }
  }
}
