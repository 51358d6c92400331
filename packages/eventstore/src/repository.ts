import { ConcurrencyError, type CommandMetadata, type DomainEvent, type EventEnvelope, type RecordedEvent } from '@ncp/contracts';
import { type Decider } from '@ncp/contracts';
import { type JetStreamEventStore } from './event-store';
import { KeyedMutex } from './keyed-mutex';
import { type SnapshotStore } from './snapshot-store';

export interface RepositoryOptions {
  /** Attempts of a command that keeps losing the race for its aggregate (each after a backoff, see conflictBackoff). */
  readonly maxAttempts?: number;
  /** Aggregates kept in memory between commands (least recently used go first). */
  readonly cacheSize?: number;
  readonly snapshots?: SnapshotStore;
  readonly onSnapshotError?: (subject: string, error: unknown) => void;
}

export interface LoadedAggregate<S> {
  readonly state: S;
  /** Stream sequence of the aggregate's last event; 0 when it has none. */
  readonly sequence: number;
}

export interface ExecuteResult<S, E extends DomainEvent> {
  readonly state: S;
  readonly sequence: number;
  /** The event appended, if the command changed anything. */
  readonly event: RecordedEvent<E> | null;
}

/** The longest wait before a command tries again after losing a race. */
const MAX_CONFLICT_BACKOFF_MS = 100;

/**
 * A random wait, growing with the attempt (full jitter), before a command that lost the race for
 * its aggregate tries again. Two replicas writing one aggregate as fast as they can (a project's
 * usage under a burst of creates) otherwise retry in step and lose to each other again: 1 command
 * in 80 gave up after 5 immediate attempts.
 */
function conflictBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(MAX_CONFLICT_BACKOFF_MS, 2 ** (attempt + 1));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface CacheEntry<S> {
  state: S;
  sequence: number;
  eventsSinceSnapshot: number;
}

/**
 * Loads an aggregate (cache, else snapshot + newer events), runs the decider and appends
 * its event with optimistic concurrency; on a conflict it catches up and decides again.
 */
export class AggregateRepository<S, C, E extends DomainEvent> {
  private readonly cache = new Map<string, CacheEntry<S>>();
  private readonly mutex = new KeyedMutex();
  private readonly maxAttempts: number;
  private readonly cacheSize: number;

  constructor(
    private readonly store: JetStreamEventStore,
    readonly decider: Decider<S, C, E>,
    private readonly opts: RepositoryOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? 10;
    this.cacheSize = opts.cacheSize ?? 1000;
  }

  subject(id: string): string {
    return this.store.naming.eventSubject(this.decider.context, this.decider.aggregate, id);
  }

  /** The current state, read through to the stream (no command). */
  async load(id: string): Promise<LoadedAggregate<S>> {
    return this.mutex.run(id, async () => {
      const entry = await this.catchUp(id, true);
      return { state: entry.state, sequence: entry.sequence };
    });
  }

  async execute(id: string, command: C, meta: CommandMetadata): Promise<ExecuteResult<S, E>> {
    return this.mutex.run(id, async () => {
      // A cached state is trusted until the stream says otherwise: a conflicting append,
      // or a refusal that a fresher state might not give.
      let refresh = false;
      for (let attempt = 1; ; attempt++) {
        let entry = await this.catchUp(id, refresh);
        let events: readonly [] | readonly [E];
        try {
          events = this.decider.decide(command, entry.state, meta);
        } catch (e) {
          if (refresh) throw e;
          refresh = true;
          entry = await this.catchUp(id, true);
          events = this.decider.decide(command, entry.state, meta);
        }
        const [event] = events;
        if (!event) return { state: entry.state, sequence: entry.sequence, event: null };
        const envelope = this.store.envelope(event, this.decider.aggregate, id, meta);
        try {
          const { sequence } = await this.store.append(this.subject(id), envelope, entry.sequence);
          this.apply(entry, envelope, sequence);
          this.maybeSnapshot(id, entry);
          const recorded: RecordedEvent<E> = {
            envelope: envelope,
            sequence,
            subject: this.subject(id),
          };
          return { state: entry.state, sequence, event: recorded };
        } catch (e) {
          if (!(e instanceof ConcurrencyError)) {
            // The append's fate is unknown; the next command re-reads the stream.
            this.cache.delete(id);
            throw e;
          }
          refresh = true;
          if (attempt >= this.maxAttempts) {
            throw new ConcurrencyError('EVENTSTORE.TOO_MANY_CONFLICTS', `${this.decider.aggregate} ${id} kept changing; gave up after ${attempt} attempts`);
          }
          await conflictBackoff(attempt);
        }
      }
    });
  }

  /** Forgets cached state (tests, and callers that know the stream changed). */
  evict(id?: string): void {
    if (id === undefined) this.cache.clear();
    else this.cache.delete(id);
  }

  private async catchUp(id: string, refresh: boolean): Promise<CacheEntry<S>> {
    let entry = this.cache.get(id);
    const cached = entry !== undefined;
    if (entry) {
      // Move to the young end of the LRU order.
      this.cache.delete(id);
    } else {
      entry = await this.fromSnapshot(id);
    }
    const subject = this.subject(id);
    const last = cached && !refresh ? entry.sequence : await this.store.lastSequence(subject);
    if (last > entry.sequence) {
      for await (const recorded of this.store.read(subject, entry.sequence + 1, last)) {
        this.apply(entry, recorded.envelope, recorded.sequence);
      }
    }
    this.cache.set(id, entry);
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
    return entry;
  }

  private async fromSnapshot(id: string): Promise<CacheEntry<S>> {
    const codec = this.decider.snapshot;
    const snapshot = codec && this.opts.snapshots ? await this.opts.snapshots.load(this.subject(id)) : null;
    if (codec && snapshot && snapshot.version === codec.version) {
      return { state: codec.fromJSON(snapshot.state), sequence: snapshot.sequence, eventsSinceSnapshot: 0 };
    }
    return { state: this.decider.initialStateFor?.(id) ?? this.decider.initialState(), sequence: 0, eventsSinceSnapshot: 0 };
  }

  private apply(entry: CacheEntry<S>, envelope: EventEnvelope, sequence: number): void {
    entry.state = this.decider.evolve(entry.state, { type: envelope.type, data: envelope.data } as E);
    entry.sequence = sequence;
    entry.eventsSinceSnapshot++;
  }

  private maybeSnapshot(id: string, entry: CacheEntry<S>): void {
    const codec = this.decider.snapshot;
    const snapshots = this.opts.snapshots;
    if (!codec || !snapshots || entry.eventsSinceSnapshot < codec.every) return;
    entry.eventsSinceSnapshot = 0;
    const snapshot = { sequence: entry.sequence, version: codec.version, state: codec.toJSON(entry.state) };
    snapshots.save(this.subject(id), snapshot).catch((e: unknown) => this.opts.onSnapshotError?.(this.subject(id), e));
  }
}
