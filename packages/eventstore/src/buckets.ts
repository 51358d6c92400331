import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { whileClusterSettles } from './cluster-settling';
import { AGENT_HEARTBEAT_BUCKET, DESIRED_STATE_BUCKET, LEASE_BUCKET, type Naming } from '@ncp/contracts';

export interface BucketSettings {
  /** Replicas of the bucket's stream (1, or 3 on a three-node cluster). */
  readonly replicas: number;
  /** Entries older than this are removed (a lease's TTL); none when unset. */
  readonly ttlMs?: number;
}

/**
 * Opens a KV bucket (history 1), creating it, or bringing an existing one to `settings`: its
 * replicas (a stack moved onto a cluster) and its entries' age. Creating alone would keep
 * whatever the first creator chose.
 */
export function ensureBucket(nc: NatsConnection, bucket: string, settings: BucketSettings): Promise<KV> {
  return whileClusterSettles(() => openBucket(nc, bucket, settings));
}

async function openBucket(nc: NatsConnection, bucket: string, settings: BucketSettings): Promise<KV> {
  const kv = await new Kvm(nc).create(bucket, { history: 1, replicas: settings.replicas, ...(settings.ttlMs ? { ttl: settings.ttlMs } : {}) });
  const jsm = await jetstreamManager(nc);
  const stream = `KV_${bucket}`;
  const { config } = await jsm.streams.info(stream);
  const maxAge = (settings.ttlMs ?? 0) * 1_000_000;
  if (config.num_replicas !== settings.replicas || config.max_age !== maxAge) {
    // the window in which a retried put is recognised cannot be longer than an entry lives
    const duplicateWindow = maxAge > 0 ? Math.min(config.duplicate_window, maxAge) : config.duplicate_window;
    await jsm.streams.update(stream, { ...config, num_replicas: settings.replicas, max_age: maxAge, duplicate_window: duplicateWindow });
  }
  return kv;
}

/** The buckets every service shares with the agents (desired state, heartbeats), at the stack's replicas. */
export async function ensureSharedBuckets(nc: NatsConnection, naming: Naming, replicas: number): Promise<void> {
  for (const name of [DESIRED_STATE_BUCKET, AGENT_HEARTBEAT_BUCKET]) await ensureBucket(nc, naming.bucket(name), { replicas });
}

/** A service's leader lease bucket (`ncp_leases_<context>`): each service's lease has its own TTL. */
export const leaseBucket = (naming: Naming, key: string) => naming.bucket(`${LEASE_BUCKET}_${key}`);
