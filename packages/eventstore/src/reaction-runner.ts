import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { type RecordedEvent } from '@ncp/contracts';
import { addDurableConsumer, unlessConsumerMissing } from './durable-consumer';
import { type JetStreamEventStore } from './event-store';
import { classifyProjectionFailure } from './projection-failure';
import { PULL_EXPIRES_MS, whileClusterSettles } from './cluster-settling';
import { type ProjectionLogger } from './projection-runner';

/** Deliveries of an event whose handling fails because of the event itself before it is given up. */
const POISON_DELIVERIES = 5;

export interface Reaction {
  /** Durable consumer name; also names the reaction in logs. */
  readonly name: string;
  readonly filter: string;
  /** Must be idempotent: an event may be delivered again after a crash. */
  handle(event: RecordedEvent): Promise<void>;
}

/**
 * Runs a reaction to events (a process manager step) at least once per event: the
 * message is acknowledged after the handler succeeds, redelivered with a delay after it
 * fails. A new reaction starts at the beginning of the stream, so nothing that happened
 * before it first ran is missed; its durable consumer remembers where it is after that.
 */
export class ReactionRunner {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly events: JetStreamEventStore,
    private readonly reaction: Reaction,
    private readonly logger?: ProjectionLogger,
  ) {}

  get durableName(): string {
    return this.events.naming.consumerName(`react_${this.reaction.name}`);
  }

  async start(): Promise<void> {
    const jsm = await this.events.jsm();
    const consumer = await whileClusterSettles(async () => {
      const existing = await unlessConsumerMissing(() => jsm.consumers.info(this.events.streamName, this.durableName));
      if (!existing) {
        await addDurableConsumer(this.events, this.durableName, this.reaction.filter, {
          deliver_policy: DeliverPolicy.All,
          ack_wait: 60_000_000_000,
          max_deliver: -1,
        });
      }
      return this.events.js.consumers.get(this.events.streamName, this.durableName);
    });
    const messages = await consumer.consume({ max_messages: 200, expires: PULL_EXPIRES_MS });
    this.messages = messages;
    this.loop = (async () => {
      for await (const m of messages) {
        let event;
        try {
          event = this.events.decode(m);
        } catch (err) {
          // An event that cannot be read never will be: no redelivery (projections park it).
          this.logger?.error({ err, reaction: this.reaction.name, sequence: m.seq, subject: m.subject }, 'reaction skips an event it cannot read');
          m.term();
          continue;
        }
        try {
          await this.reaction.handle(event);
          m.ack();
        } catch (err) {
          // The event's own fault, again and again: give up on it rather than retry forever.
          if (classifyProjectionFailure(err) === 'poison' && m.info.deliveryCount >= POISON_DELIVERIES) {
            this.logger?.error({ err, reaction: this.reaction.name, sequence: m.seq, deliveries: m.info.deliveryCount }, 'reaction gives up on an event');
            m.term();
            continue;
          }
          this.logger?.error({ err, reaction: this.reaction.name, sequence: m.seq }, 'reaction failed; will retry');
          m.nak(2000);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }
}
