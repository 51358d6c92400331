import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { AGENT_HEARTBEAT_BUCKET, DESIRED_STATE_BUCKET, type AdminReply, type AgentHeartbeat, type Naming } from '@ncp/contracts';
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
    if (!follow) {
      const last = await this.lastSequence();
      const info = await consumer.info(true);
      if (info.num_pending === 0 || last < fromSequence) return;
    }
    const messages = await consumer.consume({ max_messages: 1000 });
    signal?.addEventListener('abort', () => void messages.close());
    try {
      for await (const m of messages) {
        yield { sequence: m.seq, subject: m.subject, envelope: m.json() };
        if (!follow && m.info.pending === 0) break;
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
    const kv = await new Kvm(this.nc).open(this.naming.bucket(AGENT_HEARTBEAT_BUCKET));
    const beats = new Map<string, AgentHeartbeat>();
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e?.operation === 'PUT') beats.set(key, e.json<AgentHeartbeat>());
    }
    return beats;
  }

  /** The desired-state entries of one host: key -> value, revision and time. */
  async desiredState(row: string, host: string): Promise<{ key: string; value: unknown; revision: number; created: Date }[]> {
    const kv = await new Kvm(this.nc).open(this.naming.bucket(DESIRED_STATE_BUCKET));
    const out = [];
    for await (const key of await kv.keys(`${row}.${host}.>`)) {
      const e = await kv.get(key);
      if (e?.operation === 'PUT') out.push({ key, value: e.json<unknown>(), revision: e.revision, created: e.created });
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }
}
