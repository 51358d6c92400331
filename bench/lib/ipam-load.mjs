// @ts-check
// What the benchmarks that drive IPAM alone through its own write path share.

import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@ncp/eventstore';

/** IPAM's defaults: the project a request without X-Project-Id acts as, and base_mac. */
export const PROJECT_ID = '00000000000000000000000000000001';
export const MAC_PREFIX = 'fa:16:3e';

/**
 * A small seeded generator (mulberry32), so a load is the same mix every run.
 * @param {number} seed
 * @returns {() => number} numbers in [0, 1)
 */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What API requests carry when they come without X-Project-Id / X-Roles (IPAM's defaults). */
export function requestMeta() {
  return {
    now: new Date().toISOString(),
    correlationId: `req-${randomUUID()}`,
    causationId: null,
    projectId: PROJECT_ID,
    actor: `project:${PROJECT_ID}`,
    isAdmin: true,
  };
}

/**
 * Deletes every stream (events, KV buckets) of a NATS prefix.
 * @param {string} natsUrl
 * @param {string} prefix
 */
export async function removeStreams(natsUrl, prefix) {
  const nc = await connectNats(natsUrl, `bench-cleanup-${prefix}`);
  try {
    const jsm = await jetstreamManager(nc);
    const names = [];
    for await (const name of jsm.streams.names()) if (name.endsWith(`_${prefix}`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}
