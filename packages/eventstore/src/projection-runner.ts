import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { type RecordedEvent } from '@ncp/contracts';
import { type JetStreamEventStore } from './event-store';

/** Where a projection keeps its checkpoint: the same database as its tables. */
export interface ProjectionStore<Tx> {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Outside a transaction: creates the checkpoint (at 0) if it is missing. Inside one:
   * also locks it until commit; the runner always reads it outside first.
   */
  readCheckpoint(name: string, tx?: Tx): Promise<number>;
  writeCheckpoint(tx: Tx, name: string, sequence: number): Promise<void>;
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
   * contexts: NATS 2.9 allows one filter per consumer). Others are skipped undecoded.
   */
  accepts?(subject: string): boolean;
  /** Empties the projection's tables, for a rebuild from sequence 1. */
  reset(tx: Tx): Promise<void>;
}

/** Applies events in order through the projection's batch path if it has one. */
export async function applyEvents<Tx>(projection: Projection<Tx>, tx: Tx, events: readonly RecordedEvent[]): Promise<void> {
  if (projection.applyBatch) {
    if (events.length > 0) await projection.applyBatch(tx, events);
    return;
  }
  for (const e of events) await projection.apply(tx, e);
}

export interface ProjectionLogger {
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ProjectionRunnerOptions {
  /** Distinguishes the durable consumers of several instances of one service. */
  readonly instance: string;
  readonly batchSize?: number;
  readonly logger?: ProjectionLogger;
  /** Called after each committed batch (e.g. to recompute what depends on the projection). */
  readonly onAdvance?: (sequence: number) => void;
}

export interface ProjectionStatus {
  readonly name: string;
  readonly checkpoint: number;
  /** Events in the stream that this projection has not applied yet. */
  readonly pending: number;
  readonly running: boolean;
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
 */
export class ProjectionRunner<Tx> {
  private position = 0;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private waiters: Waiter[] = [];
  private readonly batchSize: number;

  constructor(
    private readonly events: JetStreamEventStore,
    readonly projection: Projection<Tx>,
    private readonly store: ProjectionStore<Tx>,
    private readonly opts: ProjectionRunnerOptions,
  ) {
    this.batchSize = opts.batchSize ?? 500;
  }

  get durableName(): string {
    return this.events.naming.consumerName(`proj_${this.projection.name}_${this.opts.instance}`);
  }

  get checkpoint(): number {
    return this.position;
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.position = await this.store.readCheckpoint(this.projection.name);
    await this.recreateConsumer(this.position + 1);
    const consumer = await this.events.js.consumers.get(this.events.streamName, this.durableName);
    this.messages = await consumer.consume({ max_messages: this.batchSize * 2 });
    this.loop = this.run(this.messages);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    this.loop = undefined;
    this.messages = undefined;
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

  async status(): Promise<ProjectionStatus> {
    const jsm = await this.events.jsm();
    let pending = 0;
    try {
      const info = await jsm.consumers.info(this.events.streamName, this.durableName);
      pending = info.num_pending + info.num_ack_pending;
    } catch (e) {
      if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.ConsumerNotFound) throw e;
    }
    // Not running from the moment a stop (or a rebuild) begins, before the last batch is done.
    return { name: this.projection.name, checkpoint: this.position, pending, running: this.loop !== undefined && !this.stopping };
  }

  /**
   * Empties the projection and replays the stream from sequence 1. Resolves when the
   * projection has caught up with the stream as it was when the rebuild began.
   */
  async rebuild(onProgress?: (status: ProjectionStatus) => void): Promise<void> {
    await this.stop();
    await this.store.readCheckpoint(this.projection.name);
    await this.store.transaction(async (tx) => {
      await this.store.readCheckpoint(this.projection.name, tx);
      await this.projection.reset(tx);
      await this.store.writeCheckpoint(tx, this.projection.name, 0);
    });
    const target = await this.events.streamLastSequence();
    await this.start();
    while (this.position < target) {
      const status = await this.status();
      onProgress?.(status);
      if (status.pending === 0) break;
      await sleep(200);
    }
    onProgress?.(await this.status());
  }

  private async recreateConsumer(startSequence: number): Promise<void> {
    const jsm = await this.events.jsm();
    try {
      await jsm.consumers.delete(this.events.streamName, this.durableName);
    } catch (e) {
      if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.ConsumerNotFound) throw e;
    }
    await jsm.consumers.add(this.events.streamName, {
      durable_name: this.durableName,
      filter_subject: this.projection.filter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSequence,
      ack_wait: 300_000_000_000,
      max_ack_pending: 20_000,
      // A dead instance's consumer goes away by itself after a day.
      inactive_threshold: 86_400_000_000_000,
    });
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    let batch: JsMsg[] = [];
    for await (const m of messages) {
      if (m.seq <= this.position) {
        m.ack();
        continue;
      }
      batch.push(m);
      // Commit when nothing more is waiting (low latency) or the batch is full (throughput).
      if (m.info.pending === 0 || batch.length >= this.batchSize) {
        await this.flush(batch);
        batch = [];
      }
      if (this.stopping) break;
    }
    if (batch.length > 0 && !this.stopping) await this.flush(batch);
  }

  private async flush(batch: JsMsg[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const reached = await this.store.transaction(async (tx) => {
          const checkpoint = await this.store.readCheckpoint(this.projection.name, tx);
          const fresh = batch.filter((m) => m.seq > checkpoint);
          const accepted = fresh.filter((m) => this.projection.accepts?.(m.subject) !== false);
          await applyEvents(this.projection, tx, accepted.map((m) => this.events.decode(m)));
          const last = fresh.at(-1)?.seq ?? checkpoint;
          if (last > checkpoint) await this.store.writeCheckpoint(tx, this.projection.name, last);
          return last;
        });
        for (const m of batch) m.ack();
        this.advance(reached);
        return;
      } catch (e) {
        // A failing event blocks its projection rather than being skipped: skipping
        // would leave the read side silently wrong.
        this.opts.logger?.error(
          { err: e, projection: this.projection.name, firstSequence: batch[0]?.seq, attempt },
          'projection batch failed; retrying',
        );
        if (this.stopping) return;
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  private advance(sequence: number): void {
    if (sequence <= this.position) return;
    this.position = sequence;
    this.opts.onAdvance?.(sequence);
    const ready = this.waiters.filter((w) => w.sequence <= sequence);
    this.waiters = this.waiters.filter((w) => w.sequence > sequence);
    for (const w of ready) w.resolve();
  }
}
