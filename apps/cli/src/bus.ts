import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection } from '@nats-io/nats-core';
import { AGENT_HEARTBEAT_BUCKET, DESIRED_STATE_BUCKET, type AdminReply, type AgentHeartbeat, type Naming } from '@ncp/contracts';
import { readBucketEntries } from '@ncp/eventstore';
import { type StreamEvent } from './trace';

/** netctl's reads: the event stream, the operator requests to the services, the KV buckets. */
export class Bus {
  constructor(
    readonly nc: NatsConnection,
    readonly naming: Naming,
  ) {}

  /** A subject relative to the deployment (`ev.ipam.>`), with the stack's prefix. */
  subject(relative: string): string {
    return this.naming.prefix ? `${this.naming.prefix}.${relative}` : relative;
  }

  async lastSequence(): Promise<number> {
    const info = await (await jetstreamManager(this.nc)).streams.info(this.naming.eventStream);
    return info.state.last_seq;
  }

  /** The sequence of the last event on `filter` (wildcards allowed), 0 when there is none. */
  async lastSequenceOf(filter: string): Promise<number> {
    const msg = await (await jetstreamManager(this.nc)).streams.getMessage(this.naming.eventStream, { last_by_subj: filter });
    return msg ? msg.seq : 0;
  }

  /**
   * The events of `filter` from `fromSequence`, in order, decoded as stored (any schema
   * version); with `follow`, then every new one until `signal` aborts.
   */
  async *events(filter: string, fromSequence: number, follow: boolean, signal?: AbortSignal): AsyncGenerator<StreamEvent> {
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get(this.naming.eventStream, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, fromSequence),
    });
    // without follow, the read ends at the filter's last event when it began: a pending count
    // of 0 may never come while events are appended (readBucketEntries)
    const last = follow ? Infinity : await this.lastSequenceOf(filter);
    if (last < fromSequence) return;
    const messages = await consumer.consume({ max_messages: 1000 });
    signal?.addEventListener('abort', () => void messages.close());
    try {
      for await (const m of messages) {
        if (m.seq > last) break;
        yield { sequence: m.seq, subject: m.subject, envelope: m.json() };
        if (m.seq >= last || (!follow && m.info.pending === 0)) break;
      }
    } finally {
      await messages.close();
    }
  }

  /** An operator request to a service (`admin.<context>.<verb>`); its `result`, or its error thrown. */
  async admin<T>(context: string, verb: string, body: unknown, timeoutMs: number): Promise<T> {
    const reply = await this.nc.request(this.naming.adminSubject(context, verb), JSON.stringify(body ?? {}), { timeout: timeoutMs });
    const answer = reply.json<AdminReply<T>>();
    if (answer.error) throw new Error(`${context}: ${answer.error.message}`);
    return answer.result;
  }

  async heartbeats(): Promise<Map<string, AgentHeartbeat>> {
    const entries = await readBucketEntries(this.nc, this.naming.bucket(AGENT_HEARTBEAT_BUCKET), '>');
    return new Map([...entries].map(([key, e]) => [key, JSON.parse(e.value) as AgentHeartbeat]));
  }

  /** The desired-state entries of one host: key -> value, revision and time. */
  async desiredState(row: string, host: string): Promise<{ key: string; value: unknown; revision: number; created: Date }[]> {
    const entries = await readBucketEntries(this.nc, this.naming.bucket(DESIRED_STATE_BUCKET), `${row}.${host}.>`);
    return [...entries]
      .map(([key, e]) => ({ key, value: JSON.parse(e.value) as unknown, revision: e.revision, created: e.created }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }
}
