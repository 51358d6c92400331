// @ts-check
// What the benchmarks that drive IPAM alone through its own write path share.

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Naming } from '@ncp/contracts';
import { connectNats } from '@ncp/eventstore';
import { Child, OutputTail, describeExit, httpHealth } from '@ncp/supervisor';
import { REPO_ROOT, createTestDatabase, testInfra, uniqueName } from '@ncp/testing';
import { UNLIMITED_QUOTAS, errorText, machineSummary } from './stack-bench.mjs';

/** IPAM's defaults: the project a request without X-Project-Id acts as, and base_mac. */
export const PROJECT_ID = '00000000000000000000000000000001';
export const MAC_PREFIX = 'fa:16:3e';
/**
 * The security groups service's answer for the benchmarks that run IPAM's commands without it:
 * every project's default group is this one (the ports are never filtered here).
 */
export const benchSecurityGroups = { portGroups: async () => ({ defaultGroupId: '5ec00000-0000-4000-8000-000000000001' }) };

/** The built apps/ipam. */
export const IPAM_DIST = path.join(REPO_ROOT, 'apps/ipam/dist');

/** IPAM alone, started the way TestStack starts its services. */
export class IpamProcess {
  /**
   * @param {Record<string, string>} env its environment over this process' (DATABASE_URL, NATS_URL, NATS_PREFIX, LOG_LEVEL, PORT)
   * @param {(line: string) => void} [onLine] sees each line it writes, as it arrives
   */
  constructor(env, onLine) {
    this.env = env;
    this.url = `http://127.0.0.1:${env.PORT}`;
    this.output = new OutputTail(400);
    this.onLine = onLine;
    /** @type {Child | undefined} */
    this.child = undefined;
  }

  /** Spawns it; does not wait for anything. */
  spawn() {
    const child = new Child({
      name: 'ipam',
      command: process.execPath,
      args: [path.join(IPAM_DIST, 'main.js')],
      // as TestStack: an open API unless the benchmark passes Keystone's settings (--auth)
      env: { ...process.env, AUTH_STRATEGY: 'noauth', ...UNLIMITED_QUOTAS, ...this.env },
      onLine: (line) => {
        this.output.add(line);
        this.onLine?.(line);
      },
    });
    this.child = child;
    return child;
  }

  /**
   * Spawns it and waits until it answers /healthz itself; `cancelled()` true gives up (Ctrl-C).
   * @param {() => boolean} [cancelled]
   */
  async start(cancelled = () => false) {
    const child = this.spawn();
    const healthy = await child.waitHealthy(httpHealth(`${this.url}/healthz`), { timeoutMs: 60_000, pollMs: 100, cancelled }).catch((e) => {
      throw new Error(`ipam did not start: ${errorText(e)}\n${this.logs()}`);
    });
    if (cancelled()) throw new Error('interrupted');
    if (!healthy) throw new Error(`ipam did not start: exited (${describeExit(await child.exit)}) before it was healthy\n${this.logs()}`);
  }

  /**
   * `signal`, then SIGKILL after 15 s; resolves once it is gone.
   * @param {NodeJS.Signals} [signal]
   */
  async stop(signal = 'SIGTERM') {
    await this.child?.stop({ signal, graceMs: 15_000 });
  }

  logs() {
    return this.output.text();
  }
}

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

/**
 * What a benchmark of one IPAM process starts from: its result so far (when, on what, the
 * command and options), the local Postgres and NATS, a fresh stream prefix named after the
 * benchmark and a fresh database.
 * @param {string} name the benchmark, bench/<name>/run.mjs
 * @param {object} options
 */
export async function startIpamBench(name, options) {
  /** @type {import('./stack-bench.mjs').BenchResult} */
  const result = {
    at: new Date().toISOString(),
    machine: machineSummary(),
    command: `node bench/${name}/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    options,
  };
  const infra = await testInfra();
  const prefix = uniqueName(name);
  const database = await createTestDatabase(infra.databaseUrl);
  return { result, infra, prefix, naming: new Naming({ prefix }), database };
}

/**
 * Undoes startIpamBench after `closing` (the benchmark's own connections and processes), each
 * step on its own: what fails is reported, the rest still happens.
 * @param {Awaited<ReturnType<typeof startIpamBench>>} bench
 * @param {{ stop(): Promise<unknown> } | undefined} ipam
 * @param {(() => Promise<unknown> | undefined)[]} closing
 */
export async function cleanUpIpamBench({ infra, prefix, database }, ipam, closing) {
  await ipam?.stop().catch((e) => console.error(`stopping ipam: ${errorText(e)}`));
  await removeStreams(infra.natsUrl, prefix).catch((e) => console.error(`removing the streams of ${prefix}: ${errorText(e)}`));
  for (const close of closing) await close()?.catch(() => undefined);
  await database.drop().catch((e) => console.error(`dropping ${database.name}: ${errorText(e)}`));
}
