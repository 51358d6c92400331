import { AckPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerConfig } from '@nats-io/jetstream';
import { type JetStreamEventStore } from './event-store';

/** What `request` (of a consumer) answers, or undefined when that consumer does not exist. */
export async function unlessConsumerMissing<T>(request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch (e) {
    if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.ConsumerNotFound) throw e;
    return undefined;
  }
}

/**
 * Adds a durable consumer of the event stream over `filter`, each message acknowledged by
 * itself unless `config` says otherwise; `config` says where it starts and how long a message
 * may stay unacknowledged.
 */
export async function addDurableConsumer(events: JetStreamEventStore, durableName: string, filter: string, config: Partial<ConsumerConfig>): Promise<void> {
  const jsm = await events.jsm();
  await jsm.consumers.add(events.streamName, {
    durable_name: durableName,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    // A dead instance's consumer goes away by itself after a day.
    inactive_threshold: 86_400_000_000_000,
    ...config,
  });
}
