import { connect } from '@nats-io/transport-node';
import { type NatsConnection } from '@nats-io/nats-core';

export type { NatsConnection };

export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  const servers = url.replace(/^nats:\/\//, '').split(',');
  return connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
}
