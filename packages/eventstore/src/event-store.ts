import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { PermissionViolationError, type NatsConnection } from '@nats-io/nats-core';
import {
  ConcurrencyError,
  TooLargeError,
  UnavailableError,
  ValidationError,
  findUnstorable,
  type CommandMetadata,
  type DomainEvent,
  type EventEnvelope,
  type EventRegistry,
  type Naming,
  type RecordedEvent,
  envelopeSchema,
} from '@ncp/contracts';
import { unreachable } from './unreachable';
import { whileClusterSettles } from './cluster-settling';

function isPermissionViolation(e: unknown): boolean {
  return e instanceof PermissionViolationError || (e instanceof Error && e.cause instanceof PermissionViolationError);
}

export interface EventStoreOptions {
  /** How long JetStream remembers message ids for deduplication of retried appends. */
  readonly duplicateWindowMs?: number;
  /** Attempts for an append that failed without an answer (timeout, reconnect). */
  readonly publishAttempts?: number;
  /** Replicas of the stream (1, or 3 on a three-node cluster); an existing stream is brought to it. */
  readonly replicas?: number;
  /**
   * The JetStream domain of the cluster, for a client of a leaf node (a row's agents): its API
   * requests carry the domain (`$JS.<domain>.API`), which the hub maps to its own JetStream.
   */
  readonly domain?: string;
}

export interface AppendResult {
  readonly sequence: number;
  /** The stream already had this event id: an earlier attempt got through. */
  readonly duplicate: boolean;
}

const textEncoder = new TextEncoder();
/** Room for the headers an append carries (message id, expected sequence and stream). */
const HEADER_ALLOWANCE = 512;
const textDecoder = new TextDecoder();

/**
 * The event store: one JetStream stream, one subject per aggregate. Appends are
 * conditional on the aggregate's last sequence and deduplicated by event id.
 */
export class JetStreamEventStore {
  readonly js: JetStreamClient;
  private jsmPromise: Promise<JetStreamManager> | undefined;
  private readonly duplicateWindowMs: number;
  private readonly publishAttempts: number;
  private readonly replicas: number;
  private readonly domain: string | undefined;

  constructor(
    readonly nc: NatsConnection,
    readonly naming: Naming,
    readonly registry: EventRegistry,
    opts: EventStoreOptions = {},
  ) {
    this.domain = opts.domain;
    this.js = jetstream(nc, { domain: opts.domain });
    this.duplicateWindowMs = opts.duplicateWindowMs ?? 120_000;
    this.publishAttempts = opts.publishAttempts ?? 6;
    this.replicas = opts.replicas ?? 1;
  }

  get streamName(): string {
    return this.naming.eventStream;
  }

  jsm(): Promise<JetStreamManager> {
    this.jsmPromise ??= jetstreamManager(this.nc, { domain: this.domain });
    return this.jsmPromise;
  }

  /** Creates the stream, or brings an existing one to the configuration we need. */
  async ensureStream(): Promise<void> {
    const jsm = await this.jsm();
    const config: Partial<StreamConfig> & { name: string } = {
      name: this.streamName,
      subjects: [this.naming.allEvents],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs: -1,
      max_bytes: -1,
      max_age: 0,
      duplicate_window: this.duplicateWindowMs * 1_000_000,
      // Events are the source of truth: nobody deletes or purges single messages.
      deny_delete: true,
      deny_purge: true,
      allow_direct: true,
      num_replicas: this.replicas,
    };
    await whileClusterSettles(async () => {
      try {
        const info = await jsm.streams.info(this.streamName);
        await jsm.streams.update(this.streamName, { ...info.config, ...config });
      } catch (e) {
        if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.StreamNotFound) throw e;
        await jsm.streams.add(config);
      }
    });
  }

  /** Deletes the whole stream; for tests and scratch stacks only. */
  async deleteStream(): Promise<void> {
    const jsm = await this.jsm();
    try {
      await jsm.streams.delete(this.streamName);
    } catch (e) {
      if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.StreamNotFound) throw e;
    }
  }

  envelope<E extends DomainEvent>(event: E, aggregate: string, aggregateId: string, meta: CommandMetadata): EventEnvelope<E['type'], E['data']> {
    return {
      id: randomUUID(),
      type: event.type,
      schemaVersion: this.registry.latestVersion(event.type),
      aggregate,
      aggregateId,
      occurredAt: meta.now,
      correlationId: meta.correlationId,
      causationId: meta.causationId,
      projectId: meta.projectId,
      actor: meta.actor,
      data: this.registry.validateLatest(event.type, event.data),
    };
  }

  /**
   * Appends one event if the subject's last sequence is still `expectedLastSequence`
   * (0 = the aggregate has no events yet). Throws ConcurrencyError when it is not.
   */
  async append(subject: string, envelope: EventEnvelope, expectedLastSequence: number): Promise<AppendResult> {
    const payload = this.encodeStorable(envelope);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.publishAttempts; attempt++) {
      try {
        const ack = await this.js.publish(subject, payload, {
          msgID: envelope.id,
          expect: { lastSubjectSequence: expectedLastSequence, streamName: this.streamName },
        });
        return { sequence: ack.seq, duplicate: ack.duplicate };
      } catch (e) {
        if (e instanceof JetStreamApiError) {
          if (e.code === JetStreamApiCodes.StreamWrongLastSequence) {
            throw new ConcurrencyError('EVENTSTORE.WRONG_LAST_SEQUENCE', `${subject} moved past sequence ${expectedLastSequence}`);
          }
          throw e;
        }
        // Refused by the server (this user may not publish there): nothing was stored, and a
        // retry would be refused again.
        if (isPermissionViolation(e)) throw e;
        // No answer: the append may or may not have been stored. Retrying with the same
        // message id is safe, JetStream drops the copy and reports a duplicate. A cluster
        // electing the stream's leader answers nothing for a few seconds: wait a little longer
        // before each attempt.
        lastError = e;
        if (attempt < this.publishAttempts) await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
    throw new UnavailableError(
      'EVENTSTORE.ServiceUnavailable',
      'The event store did not answer; the change may or may not have been stored.',
      lastError instanceof Error ? lastError.message : String(lastError),
    );
  }

  /**
   * The last line of defence before the stream: an event the projections could never store
   * (NUL, an unpaired surrogate) or one larger than the server takes (its `max_payload`,
   * as this connection was told) is refused before anything is appended. Request validation
   * should make both unreachable; this holds if it ever misses a field.
   */
  encodeStorable(envelope: EventEnvelope): Uint8Array {
    const bad = findUnstorable(envelope);
    if (bad !== null) {
      throw new ValidationError('EVENTSTORE.InvalidInput', `Invalid input for ${bad.path}. Reason: ${bad.problem}.`);
    }
    const payload = textEncoder.encode(JSON.stringify(envelope));
    const max = this.nc.info?.max_payload;
    if (max !== undefined && payload.length + HEADER_ALLOWANCE > max) {
      throw new TooLargeError(
        'EVENTSTORE.HTTPRequestEntityTooLarge',
        `The change is too large to store: its event takes ${payload.length} bytes, the event store takes at most ${max - HEADER_ALLOWANCE}.`,
      );
    }
    return payload;
  }

  /**
   * Appends to a subject no decision reads back: a host agent's record of itself (it is the
   * only writer, and its state is nothing). Its last sequence comes from a direct get named by
   * the subject, which NATS permissions can confine to that subject (infra/nats/auth.conf: an
   * agent reads nothing else of the stream); a lost race only reads it again.
   */
  async appendUnread(subject: string, envelope: EventEnvelope, attempts = 5): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.append(subject, envelope, await this.lastSequence(subject, 'direct'));
      } catch (e) {
        if (!(e instanceof ConcurrencyError) || attempt >= attempts) throw e;
      }
    }
  }

  /**
   * The sequence of the last event on a subject, 0 when there is none. `direct`: by a direct get
   * named by the subject, which NATS permissions can confine to it (appendUnread).
   */
  async lastSequence(subject: string, via: 'stream' | 'direct' = 'stream'): Promise<number> {
    const jsm = await this.jsm();
    const query = { last_by_subj: subject };
    // what every command reads first: NATS not answering is a 503, not a 500
    const msg = await (via === 'direct' ? jsm.direct.getMessage(this.streamName, query) : jsm.streams.getMessage(this.streamName, query)).catch(
      (e: unknown) => {
        throw unreachable('The event store', 'read', e);
      },
    );
    return msg ? msg.seq : 0;
  }

  /** The stream's last sequence over all subjects. */
  async streamLastSequence(): Promise<number> {
    const jsm = await this.jsm();
    const info = await jsm.streams.info(this.streamName);
    return info.state.last_seq;
  }

  /**
   * Reads the events of `filter` with sequence in [fromSequence, toSequence], in order.
   * `toSequence` defaults to the filter's last sequence when reading one aggregate. With
   * `accept`, only the subjects it accepts are decoded and yielded.
   */
  async *read(filter: string, fromSequence: number, toSequence?: number, accept?: (subject: string) => boolean): AsyncGenerator<RecordedEvent> {
    const last = toSequence ?? (await this.lastSequence(filter));
    if (last < fromSequence) return;
    const consumer = await this.js.consumers
      .get(this.streamName, {
        filter_subjects: filter,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, fromSequence),
      })
      .catch((e: unknown) => {
        throw unreachable('The event store', 'read', e);
      });
    const messages = await consumer.consume({ max_messages: 1000 });
    try {
      for await (const m of messages) {
        if (m.seq > last) break;
        // a subject the reader does not fold is skipped undecoded (its types may be unknown here)
        if (accept === undefined || accept(m.subject)) yield this.decode(m);
        if (m.seq >= last || m.info.pending === 0) break;
      }
    } finally {
      await messages.close();
      await consumer.delete().catch(() => undefined);
    }
  }

  decode(m: Pick<JsMsg, 'seq' | 'subject' | 'data'>): RecordedEvent {
    const raw = envelopeSchema.parse(JSON.parse(textDecoder.decode(m.data)));
    const data = this.registry.readLatest(raw.type, raw.schemaVersion, raw.data);
    const envelope: EventEnvelope = { ...raw, schemaVersion: this.registry.latestVersion(raw.type), data };
    return { envelope, sequence: m.seq, subject: m.subject };
  }
}
