import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError } from '@nats-io/jetstream';

/** JetStream's "temporarily unavailable" (no meta leader yet) and "stream name already in use" (another service created it meanwhile). */
const SETTLING_CODES = new Set([10008, 10058]);

/**
 * Whether a JetStream API call failed the way a cluster fails while it settles: no answer in
 * time, nobody answering (a stream or bucket whose leader died answers nothing until the next
 * is elected: the client calls that "jetstream is not enabled"), no meta leader yet, or a
 * creation that raced another's.
 */
export function isClusterSettling(e: unknown): boolean {
  if (e instanceof JetStreamApiError) return SETTLING_CODES.has(e.code);
  return e instanceof Error && ['TimeoutError', 'NoRespondersError', 'JetStreamNotEnabled'].includes(e.name);
}

/**
 * Runs `fn` (creating or updating a stream or bucket) again while it fails as a settling
 * cluster does (a fresh three-node cluster, a server just restarted, six services creating the
 * same stream at once), at most `attempts` times, a second apart.
 */
export async function whileClusterSettles<T>(fn: () => Promise<T>, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= attempts || !isClusterSettling(e)) throw e;
      await sleep(1000);
    }
  }
}

/**
 * How long a long-lived consumer's pull request lasts (its heartbeats come at half that): a
 * pull request that went to a NATS server that died is noticed when it expires or misses its
 * heartbeats, and pulled again elsewhere. The client's default, 30 s, let a projection stall
 * for most of a minute when its consumer's server was killed.
 */
export const PULL_EXPIRES_MS = 5_000;
