import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { DESIRED_KINDS, DESIRED_STATE_BUCKET, desiredKey, parseDesiredKey, type Naming } from '@ncp/contracts';
import { type JetStreamEventStore } from '@ncp/eventstore';
import { type L2HostIntent } from '@ncp/dataplane';
import { type Logger } from '@ncp/nest-common';
import { L2Topology } from './l2-topology';

/** The KV entries that carry a host's L2 intent: one per network and one per port. */
export function l2Entries(row: string, host: string, intent: L2HostIntent): Map<string, string> {
  const entries = new Map<string, string>();
  for (const n of intent.networks) entries.set(desiredKey(row, host, DESIRED_KINDS.l2Network, n.id), JSON.stringify(n));
  for (const p of intent.ports) entries.set(desiredKey(row, host, DESIRED_KINDS.l2Port, p.id), JSON.stringify(p));
  return entries;
}

/**
 * Computes every host's desired L2 state from the event stream and keeps the KV bucket
 * in step: level-triggered (the whole entry set of a dirty host is recomputed and
 * diffed against what is published), so a restart or a missed change heals itself.
 */
export class DesiredStatePublisher {
  readonly topology = new L2Topology();
  private kv: KV | undefined;
  private readonly published = new Map<string, string>();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private caughtUpResolve: (() => void) | undefined;
  /** Resolves once the history has been read and published. */
  readonly caughtUp = new Promise<void>((resolve) => (this.caughtUpResolve = resolve));

  constructor(
    private readonly store: JetStreamEventStore,
    private readonly naming: Naming,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.kv = await new Kvm(this.store.nc).create(this.naming.bucket(DESIRED_STATE_BUCKET), { history: 1 });
    for await (const key of await this.kv.keys()) {
      const entry = await this.kv.get(key);
      if (entry?.operation === 'PUT') this.published.set(key, entry.string());
    }
    const last = await this.store.streamLastSequence();
    if (last === 0) this.caughtUpResolve?.();
    const consumer = await this.store.js.consumers.get(this.store.streamName, {
      filter_subjects: this.naming.allEvents,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume({ max_messages: 1000 });
    this.messages = messages;
    this.loop = this.run(messages);
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  private relevant(subject: string): boolean {
    try {
      const { context, aggregate } = this.naming.parseEventSubject(subject);
      return (context === 'ipam' && aggregate === 'network') || (context === 'agent' && aggregate === 'agent');
    } catch {
      return false;
    }
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    let dirty = new Set<string>();
    for await (const m of messages) {
      if (this.relevant(m.subject)) {
        for (const host of this.topology.apply(this.store.decode(m))) dirty.add(host);
      }
      if (m.info.pending === 0) {
        await this.flush(dirty);
        dirty = new Set();
        this.caughtUpResolve?.();
      }
    }
  }

  private async flush(hosts: ReadonlySet<string>): Promise<void> {
    const kv = this.kv;
    if (!kv) return;
    for (const host of hosts) {
      const agent = this.topology.agentOf(host);
      const wanted = agent ? l2Entries(agent.row, host, this.topology.intentFor(host)) : new Map<string, string>();
      try {
        for (const [key, value] of wanted) {
          if (this.published.get(key) === value) continue;
          await kv.put(key, value);
          this.published.set(key, value);
        }
        for (const key of [...this.published.keys()]) {
          if (parseDesiredKey(key)?.host !== host || wanted.has(key)) continue;
          await kv.delete(key);
          this.published.delete(key);
        }
      } catch (err) {
        // Level-triggered: the next change to this host recomputes everything for it.
        this.logger.error({ err, host }, 'publishing desired state failed');
      }
    }
  }
}
