import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { isDomainError, type ParkedEvent, type ProjectionStatus, type ReapplyResult, type RecordedEvent } from '@ncp/contracts';
import { addDurableConsumer, unlessConsumerMissing } from './durable-consumer';
import { type JetStreamEventStore } from './event-store';
import { classifyProjectionFailure, isTransactionConflict, sqlState } from './projection-failure';
import { backoffMs } from './backoff';
import { PULL_EXPIRES_MS, whileClusterSettles } from './cluster-settling';

/** Where a projection keeps its checkpoint: the same database as its tables. */
export interface ProjectionStore<Tx> {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Outside a transaction: creates the checkpoint (at 0) if it is missing. Inside one:
   * also locks it until commit; the runner always reads it outside first.
   */
  readCheckpoint(name: string, tx?: Tx): Promise<number>;
  writeCheckpoint(tx: Tx, name: string, sequence: number): Promise<void>;
  /**
   * In a batch's transaction, what readCheckpoint and writeCheckpoint do in one statement: locks
   * the checkpoint, moves it to `to` unless it is behind `committed` (a rebuild emptied the
   * projection) or at `to` or past it already, and answers where it was. A batch then costs
   * one round trip less.
   */
  claimCheckpoint?(tx: Tx, name: string, committed: number, to: number): Promise<number>;
  /** Records an event the projection cannot apply, in the transaction that moves its checkpoint past it. */
  park(tx: Tx, event: Omit<ParkedEvent, 'parkedAt'>): Promise<void>;
  /** The projection's parked events, oldest first. */
  parked(name: string): Promise<ParkedEvent[]>;
  /** Forgets one parked event (applied at last), or all of a projection's (it is being rebuilt). */
  unpark(tx: Tx, name: string, sequence?: number): Promise<void>;
  /**
   * Lets the transaction's commit return before it is on disk. A crash may then lose it, its
   * rows and the checkpoint they reached together, and the runner folds those events again.
   */
  commitWithoutWaitingForDisk?(tx: Tx): Promise<void>;
}

export interface Projection<Tx> {
  readonly name: string;
  /** Subject filter of the events it folds, e.g. `ev.ipam.>`. */
  readonly filter: string;
  apply(tx: Tx, event: RecordedEvent): Promise<void>;
  /**
   * Applies events in stream order, all in one transaction, with the same result as `apply`
   * on each: a projection may fold them set-wise (fewer statements per event).
   */
  applyBatch?(tx: Tx, events: readonly RecordedEvent[]): Promise<void>;
  /**
   * Subjects the projection folds, when its filter is wider (one consumer over several
   * contexts: NATS 2.9 allows one filter per consumer). Others are skipped undecoded, and a
   * batch of nothing else costs no transaction. Never throws.
   */
  accepts?(subject: string): boolean;
  /**
   * False when applying the (accepted) event is sure to change nothing: a batch of such events
   * is skipped like the ones not accepted. Never throws.
   */
  folds?(event: RecordedEvent): boolean;
  /** Empties the projection's tables, for a rebuild from sequence 1. */
  reset(tx: Tx): Promise<void>;
  /**
   * Refreshes the planner's statistics of the projection's tables (`ANALYZE`). Without them
   * Postgres plans a lookup of a few hundred keys as a scan of the whole table, which made a
   * rebuild slow down as its tables grew; autovacuum may be off, and is a minute late at best.
   */
  analyze?(tx: Tx): Promise<void>;
}

/** Applies events in order through the projection's batch path if it has one. */
export async function applyEvents<Tx>(projection: Projection<Tx>, tx: Tx, events: readonly RecordedEvent[]): Promise<void> {
  if (projection.applyBatch) {
    if (events.length > 0) await projection.applyBatch(tx, events);
    return;
  }
  for (const e of events) await projection.apply(tx, e);
}

/**
 * A rebuild's batches. Nobody waits on a rebuild's events one by one, so a batch may be ten
 * times what a live projection takes: a set-wise fold then sends as many statements for 5,000
 * events as for 500 (11,000 against 6,000 events/s for IPAM's ports), while a batch of a fold
 * that sends statements per event stays well inside the transaction's timeout. Following the
 * stream, a batch that large would keep every event behind it waiting for the whole batch.
 */
export const REPLAY_BATCH_SIZE = 5_000;

/** Events folded before a runner first refreshes the statistics, and the factor between two refreshes. */
export const STATISTICS_FIRST_AFTER = 5_000;
export const STATISTICS_GROWTH = 4;

export interface ProjectionLogger {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ProjectionRunnerOptions {
  /** Distinguishes the durable consumers of several instances of one service. */
  readonly instance: string;
  /** Events per transaction at most while following the stream (500 unless said). */
  readonly batchSize?: number;
  /** Events per transaction at most while a rebuild replays the stream (REPLAY_BATCH_SIZE unless said). */
  readonly replayBatchSize?: number;
  /** SKIPPED_CHECKPOINT_DELAY_MS unless said. */
  readonly skippedCheckpointDelayMs?: number;
  /** STATISTICS_FIRST_AFTER unless said. */
  readonly statisticsFirstAfter?: number;
  readonly logger?: ProjectionLogger;
  /**
   * Called after each committed batch (e.g. to recompute what depends on the projection), with
   * the events it folded; without them when the projection moved by more than this runner saw
   * (another replica folded past its batch, an event was parked): then anything may have changed.
   */
  readonly onAdvance?: (sequence: number, folded?: readonly RecordedEvent[]) => void;
}

/** A message as the batching needs it: its stream sequence and the server's count of what follows. */
interface Delivered {
  readonly seq: number;
  readonly info: { readonly pending: number };
}

type Consumed<M> = AsyncIterable<M> & { getPending(): number };

/**
 * A new consumer's messages, up to the first that does not come in turn (its delivery sequence
 * is not the one after the last's): then `onGap` is told, and the iteration ends. The server
 * counts every message it sends as delivered; one lost on the way (its server gone with it in
 * flight) is acknowledged by the next one's acknowledgement when acknowledgements cover all
 * before them, and is never delivered again. What came before the gap can be folded; what
 * follows it must not be acknowledged.
 */
export function deliveredInTurn<M extends { readonly info: { readonly deliverySequence: number } }>(
  messages: Consumed<M>,
  onGap: (expected: number, got: M) => void,
): Consumed<M> {
  return {
    getPending: () => messages.getPending(),
    async *[Symbol.asyncIterator]() {
      let expected = 1;
      for await (const m of messages) {
        if (m.info.deliverySequence !== expected) {
          onGap(expected, m);
          return;
        }
        expected += 1;
        yield m;
      }
    },
  };
}

/**
 * Groups a consumer's messages into batches: a batch ends when it is full, when the server
 * says nothing follows, or when nothing more has arrived to add to it. The last rule keeps a
 * tail from waiting for events that are not coming: the server's pending count is taken when
 * a message is delivered and can stay above zero (events matching the filter that are never
 * delivered, a count that is off), which once held a rebuild's last batch for minutes.
 */
export async function* batchesOf<M extends Delivered>(messages: Consumed<M>, size: number | (() => number)): AsyncGenerator<M[]> {
  const limit = typeof size === 'number' ? () => size : size;
  let batch: M[] = [];
  for await (const m of messages) {
    batch.push(m);
    if (batch.length >= limit() || m.info.pending === 0 || messages.getPending() === 0) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** How often a rebuild looks at its replay's progress (and reports it). */
const REPLAY_LOOK_MS = 200;
/** A replay whose consumer delivers nothing for this long while events are pending gets a new consumer. */
const REPLAY_STALL_MS = 8_000;
/** How often a rebuild tries to empty its projection when Postgres aborts it for a reader's sake. */
const RESET_ATTEMPTS = 5;

/**
 * How long the checkpoint may stay behind events the projection does not fold, which move it
 * without a transaction: a restart within this time delivers them again, to be skipped again.
 */
export const SKIPPED_CHECKPOINT_DELAY_MS = 1_000;

/**
 * How long an acknowledgement may wait for the next: one acknowledges every message before it
 * (AckPolicy.All), and each is a write to the server. The checkpoint, not the acknowledgement,
 * says where a consumer made again starts.
 */
export const ACK_DELAY_MS = 100;

/** An event that fails alone with an error of no known kind is parked after this many attempts. */
const UNKNOWN_FAILURE_ATTEMPTS = 3;

/** Postgres and JSON refuse these in text; a parked event's error must be storable whatever the event held. */
const storable = (text: string, max = 2000) =>
  text
    .replaceAll('\u0000', '\\0')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .slice(0, max);

const textDecoder = new TextDecoder();

/** Type and version as written, read without trusting the envelope. */
function peekEnvelope(data: Uint8Array): { type: string; schemaVersion: number } {
  try {
    const raw = JSON.parse(textDecoder.decode(data)) as { type?: unknown; schemaVersion?: unknown };
    return {
      type: typeof raw.type === 'string' ? storable(raw.type, 200) : '',
      schemaVersion: typeof raw.schemaVersion === 'number' && Number.isInteger(raw.schemaVersion) ? raw.schemaVersion : 0,
    };
  } catch {
    return { type: '', schemaVersion: 0 };
  }
}

interface Waiter {
  readonly sequence: number;
  readonly resolve: () => void;
}

/**
 * Folds the events of one filter into Postgres through a durable JetStream consumer.
 * Each batch of events and the checkpoint it reaches commit in one transaction, and the
 * checkpoint row is locked, so an event is applied exactly once even if a crash makes
 * JetStream deliver it again or two instances read the same stream.
 *
 * Every replica of a service runs its projections (each its own consumer): the replicas'
 * batches take the checkpoint's lock in turn, and each applies only what lies past the
 * checkpoint, so an event is folded once per service while every replica knows how far the
 * projection is (read-your-writes on any replica, and nothing to take over when one dies). A
 * checkpoint found behind what this runner last saw committed means another replica rebuilt the
 * projection; this one then follows it from there.
 *
 * A batch of events the projection does not fold (another context's bookkeeping) costs no
 * transaction: the runner moves on, and the checkpoint follows with the next batch it commits,
 * or after SKIPPED_CHECKPOINT_DELAY_MS.
 *
 * A failing batch is never skipped and never blocks the projection for good. A failure of the
 * database (connection, lock or pool timeout, serialization) is retried with backoff, as often
 * as it takes. A failure caused by the events is narrowed down by halving the batch until one
 * event fails alone; that event is parked (recorded with its error, in the transaction that
 * moves the checkpoint past it) and the projection goes on. Parked events are listed, counted
 * in the status, and applied again once the code reads them (`reapplyParked`, or a rebuild).
 */
export class ProjectionRunner<Tx> {
  private position = 0;
  /** The highest checkpoint this runner wrote or found in the database; below `position` while skipped events are unwritten. */
  private committed = 0;
  private skippedFlush: { timer?: NodeJS.Timeout; running?: Promise<void> } = {};
  /** The last message folded or skipped, not acknowledged yet (see ACK_DELAY_MS). */
  private unacked: { message: JsMsg; timer: NodeJS.Timeout } | undefined;
  /** The last acknowledgement sent, settled once the server has handled it (or did not answer). */
  private acknowledged: Promise<unknown> = Promise.resolve();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private waiters: Waiter[] = [];
  private readonly batchSize: number;
  /** True while a rebuild replays the stream up to where it stood when the rebuild began. */
  private replaying = false;
  /** True while a batch is being folded. */
  private folding = false;
  private parkedCount = 0;
  /** The checkpoint a rebuild elsewhere left, lower than this runner's position: where it goes on from. */
  private rewoundTo: number | undefined;
  /** Events this runner folded (since it was made, or since its rebuild began), and when it next refreshes statistics. */
  private statistics: { folded: number; nextAt: number };

  constructor(
    private readonly events: JetStreamEventStore,
    readonly projection: Projection<Tx>,
    private readonly store: ProjectionStore<Tx>,
    private readonly opts: ProjectionRunnerOptions,
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.statistics = { folded: 0, nextAt: this.firstStatisticsAt };
  }

  private get firstStatisticsAt(): number {
    return this.opts.statisticsFirstAfter ?? STATISTICS_FIRST_AFTER;
  }

  get durableName(): string {
    return this.events.naming.consumerName(`proj_${this.projection.name}_${this.opts.instance}`);
  }

  /** The most events a batch takes now. */
  private get batchLimit(): number {
    return this.replaying ? (this.opts.replayBatchSize ?? REPLAY_BATCH_SIZE) : this.batchSize;
  }

  get checkpoint(): number {
    return this.position;
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.position = await this.store.readCheckpoint(this.projection.name);
    this.committed = this.position;
    this.parkedCount = (await this.store.parked(this.projection.name)).length;
    this.loop = this.run(await this.consumeFrom(this.position + 1));
  }

  private async consumeFrom(sequence: number): Promise<ConsumerMessages> {
    const consumer = await whileClusterSettles(async () => {
      await this.recreateConsumer(sequence);
      return this.events.js.consumers.get(this.events.streamName, this.durableName);
    });
    // A consumer gone from under it (deleted, lost with its server) ends the iteration, and run
    // makes it again; by default the client would wait for it forever, and the projection with it.
    this.messages = await consumer.consume({ max_messages: this.batchLimit * 2, expires: PULL_EXPIRES_MS, abort_on_missing_resource: true });
    return this.messages;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    void this.acknowledgeNow();
    await this.messages?.close();
    await this.loop;
    this.loop = undefined;
    this.messages = undefined;
    clearTimeout(this.skippedFlush.timer);
    await this.skippedFlush.running;
    await this.writeSkipped().catch((err: unknown) =>
      this.opts.logger?.error({ err, projection: this.projection.name }, 'checkpoint past skipped events not written; they are read again'),
    );
  }

  /** Resolves once every event up to `sequence` has been applied. */
  waitFor(sequence: number, timeoutMs = 10_000): Promise<void> {
    if (this.position >= sequence) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`projection ${this.projection.name} did not reach ${sequence} within ${timeoutMs} ms (at ${this.position})`));
      }, timeoutMs);
      const waiter: Waiter = {
        sequence,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Applies everything in the stream up to now: a barrier for reads. */
  async catchUp(timeoutMs = 10_000): Promise<void> {
    const last = await this.events.lastSequence(this.projection.filter);
    await this.waitFor(last, timeoutMs);
  }

  /**
   * Its consumer's count of what is left, and at least 1 while the checkpoint is behind the
   * last event of its filter: the count can say 0 while events are still to come (a consumer
   * just made, a server's count that is off), and what waits for 0 (a rebuild, a settle, an
   * operator) would go on before the projection is whole. Every event delivered moves the
   * position to it, folded or skipped, so a projection caught up stands at that last event.
   */
  async status(): Promise<ProjectionStatus> {
    // What it folded and has not acknowledged yet is not left to do. The server handles an
    // acknowledgement apart from API requests, so the count is read once it has answered it.
    await this.acknowledgeNow();
    const jsm = await this.events.jsm();
    const [info, last] = await Promise.all([
      unlessConsumerMissing(() => jsm.consumers.info(this.events.streamName, this.durableName)),
      this.events.lastSequence(this.projection.filter),
    ]);
    const counted = info ? info.num_pending + info.num_ack_pending : 0;
    const pending = Math.max(counted, last > this.position ? 1 : 0);
    // Not running from the moment a stop (or a rebuild) begins, before the last batch is done.
    return { name: this.projection.name, checkpoint: this.position, pending, running: this.loop !== undefined && !this.stopping, parked: this.parkedCount };
  }

  /** Parked events, oldest first. */
  parkedEvents(): Promise<ParkedEvent[]> {
    return this.store.parked(this.projection.name);
  }

  /**
   * Applies the parked events again, oldest first, each in its own transaction (under the
   * checkpoint's lock, so never beside a batch): after a fix (an upcaster that sanitises them,
   * a corrected projection) they go through and are unparked; those that still fail stay parked
   * with their new error. They are applied after the events that followed them, which is right
   * when nothing later built on them; a rebuild replays everything in order.
   */
  async reapplyParked(): Promise<ReapplyResult> {
    const name = this.projection.name;
    const jsm = await this.events.jsm();
    const applied: number[] = [];
    for (const p of await this.store.parked(name)) {
      const m = await jsm.streams.getMessage(this.events.streamName, { seq: p.sequence });
      if (!m) continue;
      try {
        await this.store.transaction(async (tx) => {
          await this.store.readCheckpoint(name, tx);
          if (this.projection.accepts?.(m.subject) !== false) await applyEvents(this.projection, tx, [this.events.decode(m)]);
          await this.store.unpark(tx, name, p.sequence);
        });
        applied.push(p.sequence);
      } catch (e) {
        if (classifyProjectionFailure(e) === 'transient') throw e;
        const { projection, sequence, subject } = p;
        await this.store.transaction((tx) => this.store.park(tx, { projection, sequence, subject, ...peekEnvelope(m.data), error: this.describe(e) }));
      }
    }
    const parked = await this.store.parked(name);
    this.parkedCount = parked.length;
    if (applied.length > 0) this.opts.logger?.info({ projection: name, applied, stillParked: parked.length }, 'parked events applied');
    return { name, applied, parked };
  }

  /**
   * Empties the projection and replays the stream from sequence 1. Resolves when the
   * projection has caught up with the stream as it was when the rebuild began.
   */
  async rebuild(onProgress?: (status: ProjectionStatus) => void): Promise<void> {
    const name = this.projection.name;
    this.opts.logger?.info({ projection: name, position: this.position }, 'projection rebuild: stopping its consumer');
    await this.stop();
    this.opts.logger?.info({ projection: name }, 'projection rebuild: emptying it');
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.transaction(async (tx) => {
          await this.store.readCheckpoint(name, tx);
          await this.projection.reset(tx);
          await this.store.unpark(tx, name);
          await this.store.writeCheckpoint(tx, name, 0);
        });
        break;
      } catch (err) {
        // TRUNCATE locks every table of the projection, one after the other: a reader's
        // transaction that holds one of them and waits for another is a deadlock, and Postgres
        // may abort either. The reset changed nothing then; it is tried again.
        if (!isTransactionConflict(err) || attempt >= RESET_ATTEMPTS) throw err;
        this.opts.logger?.info({ projection: name, attempt, err }, 'projection rebuild: emptying it conflicted with a reader; trying again');
        await sleep(backoffMs(attempt));
      }
    }
    this.parkedCount = 0;
    this.statistics = { folded: 0, nextAt: this.firstStatisticsAt };
    // the last event it folds or skips: the stream's last may be outside its filter, never delivered
    const target = await this.events.lastSequence(this.projection.filter);
    this.opts.logger?.info({ projection: name, target }, 'projection emptied; replaying the stream');
    this.replaying = true;
    try {
      await this.replayTo(target, onProgress);
    } finally {
      this.replaying = false;
    }
    // The tables are whole again: what they hold now is what the queries after it meet.
    await this.refreshStatistics();
    onProgress?.(await this.status());
  }

  private async replayTo(target: number, onProgress?: (status: ProjectionStatus) => void): Promise<void> {
    const name = this.projection.name;
    await this.start();
    let logged = Date.now();
    let moved = { at: Date.now(), position: this.position };
    while (this.position < target) {
      const status = await this.status();
      onProgress?.(status);
      // a batch being folded is progress too: a large one may take longer than the stall
      if (this.position !== moved.position || this.folding) moved = { at: Date.now(), position: this.position };
      else if (Date.now() - moved.at >= REPLAY_STALL_MS) {
        // Events are pending and its consumer delivers none (seen on a three-node cluster after
        // a node came back): a new consumer from what is committed.
        this.opts.logger?.error({ projection: name, ...status }, 'projection replay stalled; consuming again from its checkpoint');
        await this.stop();
        await this.start();
        moved = { at: Date.now(), position: this.position };
      }
      if (Date.now() - logged >= 10_000) {
        logged = Date.now();
        this.opts.logger?.info({ projection: name, target, ...status }, 'projection replay under way');
      }
      // done as soon as the target is folded, not at the next look
      await this.waitFor(target, REPLAY_LOOK_MS).catch(() => undefined);
    }
  }

  /** Analyzes the projection's tables when it has folded STATISTICS_GROWTH times as many events as at the last time. */
  private async refreshStatisticsAsTheyGrow(folded: number): Promise<void> {
    this.statistics.folded += folded;
    if (this.statistics.folded >= this.statistics.nextAt) await this.refreshStatistics();
  }

  private async refreshStatistics(): Promise<void> {
    const analyze = this.projection.analyze?.bind(this.projection);
    if (!analyze) return;
    this.statistics.nextAt = Math.max(this.statistics.folded * STATISTICS_GROWTH, this.firstStatisticsAt);
    try {
      await this.store.transaction((tx) => analyze(tx));
    } catch (err) {
      // Statistics only make plans better: the projection goes on without them.
      this.opts.logger?.error({ err, projection: this.projection.name }, 'planner statistics of the projection not refreshed');
    }
  }

  private async recreateConsumer(startSequence: number): Promise<void> {
    // an acknowledgement names a delivery of the consumer it came from, never of the next
    void this.acknowledgeNow();
    const jsm = await this.events.jsm();
    await unlessConsumerMissing(() => jsm.consumers.delete(this.events.streamName, this.durableName));
    await addDurableConsumer(this.events, this.durableName, this.projection.filter, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSequence,
      // Batches are folded in stream order: one acknowledgement of a batch's last message
      // acknowledges the whole batch, not a message (and a server round of work) per event.
      ack_policy: AckPolicy.All,
      ack_wait: 300_000_000_000,
      max_ack_pending: 20_000,
    });
  }

  private async run(first: ConsumerMessages): Promise<void> {
    let messages = first;
    /** consumers in a row whose very first delivery was out of turn */
    let gapsAtStart = 0;
    for (;;) {
      let gapAtStart = false;
      try {
        const inTurn = deliveredInTurn(messages, (expected, m) => {
          gapAtStart = expected === 1;
          this.opts.logger?.error(
            { projection: this.projection.name, expected, delivered: m.info.deliverySequence, sequence: m.seq, position: this.position },
            'projection consumer skipped a delivery (lost on the way); consuming again from its checkpoint',
          );
        });
        for await (const batch of batchesOf(inTurn, () => this.batchLimit)) {
          const fresh = batch.filter((m) => m.seq > this.position);
          // applied already (by this replica before its consumer was made again, or by another)
          if (fresh.length === 0) this.acknowledge(batch.at(-1));
          if (fresh.length > 0 && !this.stopping) {
            if (this.foldsAny(fresh)) await this.settleFolding(fresh);
            else this.skip(fresh);
          }
          if (this.stopping || this.rewoundTo !== undefined) break;
        }
      } catch (e) {
        if (this.stopping) return;
        // A consumer that fails (or a new one that cannot be made yet) must not stop the projection for good.
        this.opts.logger?.error({ err: e, projection: this.projection.name, position: this.position }, 'projection consumer failed; consuming again');
        await sleep(1000);
      }
      if (this.stopping) return;
      const rewoundTo = this.rewoundTo;
      this.rewoundTo = undefined;
      if (rewoundTo !== undefined) {
        // Another replica of the service rebuilt the projection: this one follows its checkpoint.
        this.opts.logger?.info({ projection: this.projection.name, from: this.position, to: rewoundTo }, 'projection reset by another replica; following it');
        this.position = rewoundTo;
        this.committed = rewoundTo;
      }
      // Otherwise the consumer ended by itself, skipped a delivery or failed: on again from what is committed.
      void this.acknowledgeNow();
      await messages.close();
      // A new consumer is expected to number its deliveries from 1; one that keeps doing
      // otherwise must not be made again and again as fast as the server answers.
      gapsAtStart = gapAtStart ? gapsAtStart + 1 : 0;
      if (gapsAtStart > 1 && !this.stopping) await sleep(Math.min(5_000, backoffMs(gapsAtStart - 1)));
      const next = await this.consumeAgain();
      if (!next) return;
      messages = next;
    }
  }

  /** A consumer from past what is committed, tried until it is made; undefined once the runner stops. */
  private async consumeAgain(): Promise<ConsumerMessages | undefined> {
    for (;;) {
      try {
        const messages = await this.consumeFrom(this.position + 1);
        if (!this.stopping) return messages;
        // A consumer nobody iterates never finishes closing: unsubscribed, not awaited.
        void messages.close();
        return undefined;
      } catch (e) {
        if (this.stopping) return undefined;
        this.opts.logger?.error({ err: e, projection: this.projection.name, position: this.position }, 'projection consumer cannot be made; trying again');
        await sleep(1000);
      }
    }
  }

  private async settleFolding(batch: JsMsg[]): Promise<void> {
    this.folding = true;
    try {
      await this.settle(batch);
    } finally {
      this.folding = false;
    }
  }

  /**
   * Commits `batch`; when that fails because of its events, commits each half in turn, down to
   * the one event that fails alone, which is parked. Failures of the database are retried.
   */
  private async settle(batch: JsMsg[]): Promise<void> {
    let poison: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commit(batch, poison);
        return;
      } catch (e) {
        if (this.stopping) return;
        // While parking, any failure is the database's: the event's own error is not written again.
        const kind = poison === undefined ? classifyProjectionFailure(e) : 'transient';
        if (kind !== 'transient' && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          await this.settle(batch.slice(0, half));
          await this.settle(batch.slice(half));
          return;
        }
        if (kind === 'poison' || (kind === 'unknown' && attempt >= UNKNOWN_FAILURE_ATTEMPTS)) {
          poison = e;
          attempt = 0;
          continue;
        }
        this.opts.logger?.error(
          { err: e, projection: this.projection.name, firstSequence: batch[0]?.seq, events: batch.length, attempt, kind },
          kind === 'transient' ? 'projection batch failed (database); retrying' : 'event failed alone; retrying before parking it',
        );
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /** One transaction: the batch's events applied (or its one event parked) and the checkpoint moved past them. */
  private async commit(batch: JsMsg[], poison: unknown): Promise<void> {
    const name = this.projection.name;
    let parked: Omit<ParkedEvent, 'parkedAt'> | undefined;
    let folded: RecordedEvent[] = [];
    let foldedAll = false;
    const to = batch.at(-1)?.seq ?? this.committed;
    const claimed = this.store.claimCheckpoint?.bind(this.store);
    const reached = await this.store.transaction(async (tx) => {
      const checkpoint = claimed ? await claimed(tx, name, this.committed, to) : await this.store.readCheckpoint(name, tx);
      // Behind what this runner saw committed: a rebuild emptied the projection since (see run).
      if (checkpoint < this.committed) {
        this.rewoundTo = checkpoint;
        return checkpoint;
      }
      const fresh = batch.filter((m) => m.seq > checkpoint);
      const last = fresh.at(-1);
      if (!last) return checkpoint;
      // A replay's batches are large: each commit would wait for megabytes to reach the disk.
      if (this.replaying) await this.store.commitWithoutWaitingForDisk?.(tx);
      if (poison !== undefined) {
        parked = { projection: name, sequence: last.seq, subject: storable(last.subject, 500), ...peekEnvelope(last.data), error: this.describe(poison) };
        await this.store.park(tx, parked);
      } else {
        const accepted = fresh.filter((m) => this.projection.accepts?.(m.subject) !== false).map((m) => this.events.decode(m));
        await applyEvents(this.projection, tx, accepted);
        folded = accepted;
        // another replica folded part of the batch: what it folded is not known here
        foldedAll = fresh.length === batch.length;
      }
      if (!claimed) await this.store.writeCheckpoint(tx, name, last.seq);
      return last.seq;
    });
    this.committed = reached;
    this.acknowledge(batch.at(-1));
    if (parked) {
      this.parkedCount += 1;
      // Once per event: the batches that failed on the way here logged nothing.
      this.opts.logger?.error({ err: poison, ...parked }, 'event parked: the projection cannot apply it and goes on without it');
    }
    this.advance(reached, foldedAll && reached === batch.at(-1)?.seq ? folded : undefined);
    await this.refreshStatisticsAsTheyGrow(folded.length);
  }

  /** The error as an operator reads it: the SQLSTATE when Postgres refused, the message. */
  private describe(err: unknown): string {
    const state = sqlState(err);
    const code = isDomainError(err) ? ` ${err.code}` : '';
    const text = err instanceof Error ? `${err.name}${code}: ${err.message.trim()}` : String(err);
    return storable(state === undefined ? text : `SQLSTATE ${state}: ${text}`);
  }

  /** Whether any event of the batch may change the projection; one that cannot be decoded goes to settle, to be parked. */
  private foldsAny(batch: JsMsg[]): boolean {
    const accepted = batch.filter((m) => this.projection.accepts?.(m.subject) !== false);
    const folds = this.projection.folds?.bind(this.projection);
    if (!folds) return accepted.length > 0;
    try {
      return accepted.some((m) => folds(this.events.decode(m)));
    } catch {
      return true;
    }
  }

  /** Past events the projection does not fold: nothing of it changes, so no transaction and no onAdvance. */
  private skip(batch: JsMsg[]): void {
    this.acknowledge(batch.at(-1));
    const last = batch.at(-1);
    if (!last || last.seq <= this.position) return;
    this.position = last.seq;
    this.resolveWaiters(last.seq);
    this.writeSkippedSoon();
  }

  private acknowledge(message: JsMsg | undefined): void {
    if (!message) return;
    if (this.unacked) {
      this.unacked.message = message;
      return;
    }
    const timer = setTimeout(() => void this.acknowledgeNow(), ACK_DELAY_MS);
    timer.unref();
    this.unacked = { message, timer };
  }

  /** Sends the pending acknowledgement; settles once the server has handled the last one sent. */
  private acknowledgeNow(): Promise<unknown> {
    const unacked = this.unacked;
    this.unacked = undefined;
    if (unacked) {
      clearTimeout(unacked.timer);
      // No answer (a server gone, a consumer deleted) loses nothing: the checkpoint says where
      // a consumer starts, and a later acknowledgement covers this one.
      this.acknowledged = unacked.message.ackAck().catch(() => false);
    }
    return this.acknowledged;
  }

  private writeSkippedSoon(): void {
    if (this.skippedFlush.timer || this.stopping) return;
    this.skippedFlush.timer = setTimeout(() => {
      this.skippedFlush.timer = undefined;
      this.skippedFlush.running = this.writeSkipped()
        .catch((err: unknown) => {
          this.opts.logger?.error({ err, projection: this.projection.name }, 'checkpoint past skipped events not written; trying again');
          this.writeSkippedSoon();
        })
        .finally(() => (this.skippedFlush.running = undefined));
    }, this.opts.skippedCheckpointDelayMs ?? SKIPPED_CHECKPOINT_DELAY_MS);
    this.skippedFlush.timer.unref();
  }

  /** Moves the checkpoint to the position reached by skipping, unless a commit or a rebuild moved it since. */
  private async writeSkipped(): Promise<void> {
    const target = this.position;
    if (target <= this.committed) return;
    const name = this.projection.name;
    const written = await this.store.transaction(async (tx) => {
      const checkpoint = await this.store.readCheckpoint(name, tx);
      // a rebuild elsewhere (the next batch's commit follows it) or a commit past the target
      if (checkpoint < this.committed || checkpoint >= target) return undefined;
      await this.store.writeCheckpoint(tx, name, target);
      return target;
    });
    if (written !== undefined && written > this.committed) this.committed = written;
  }

  private advance(sequence: number, folded?: readonly RecordedEvent[]): void {
    if (sequence <= this.position) return;
    this.position = sequence;
    this.opts.onAdvance?.(sequence, folded);
    this.resolveWaiters(sequence);
  }

  private resolveWaiters(sequence: number): void {
    const ready = this.waiters.filter((w) => w.sequence <= sequence);
    this.waiters = this.waiters.filter((w) => w.sequence > sequence);
    for (const w of ready) w.resolve();
  }
}
