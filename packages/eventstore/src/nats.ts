import { connect } from '@nats-io/transport-node';
import { type NatsConnection } from '@nats-io/nats-core';
import { natsInboxPrefix } from './nats-permissions';

export type { NatsConnection };

/** A NATS user and password (infra/nats/auth.conf); none: the server has no authorization. */
export interface NatsCredentials {
  readonly user?: string;
  readonly password?: string;
}

export async function connectNats(url: string, name: string, credentials: NatsCredentials = {}): Promise<NatsConnection> {
  const servers = url.replace(/^nats:\/\//, '').split(',');
  const { user, password } = credentials;
  // a user subscribes only to its own inbox (auth.conf), so its replies must arrive there
  const auth = user ? { user, pass: password ?? '', inboxPrefix: natsInboxPrefix(user) } : {};
  // noAsyncTraces: otherwise every request (each append, acknowledgement answer, KV write)
  // captures a stack trace for an error it almost never has (2 % of IPAM's CPU when profiled)
  return connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true, ...auth });
}
