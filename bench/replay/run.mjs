#!/usr/bin/env node
// @ts-check
// Replay benchmark: load a large IPAM event stream, then rebuild the IPAM projection from it.
//
//   node bench/replay/run.mjs [--events 1000000] [--networks 100] [--pause-ipam]
//
// 1. Starts IPAM alone (built apps/ipam, as TestStack starts it: fresh database with the ipam
//    migrations, fresh NATS prefix) and seeds it through its Neutron API: --networks networks,
//    each with an IPv4 /16 and an IPv6 SLAAC /64 subnet and two ports.
// 2. Loads --events port events (created, updated, deleted) on those networks through IPAM's
//    own write path, run in this process: the built PortCommands, the network decider and the
//    AggregateRepository / JetStreamEventStore append (one command in flight per network).
// 3. Waits until IPAM's live projection has applied everything, fingerprints the ipam tables,
//    asks IPAM to rebuild (admin.ipam.projection_rebuild) while polling its progress, and
//    fingerprints the tables again: they must be equal.
// Everything it made (IPAM process, database, streams of its prefix) is removed at the end,
// also on failure or Ctrl-C. See README.md beside this file.

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { flagOption, intOption, parseBenchOptions, textOption } from '../lib/options.mjs';
import { enableServiceProfiles, profileByPackage, profilesWritten, toggleServiceProfiles } from '../lib/cpu-profile.mjs';
import pg from 'pg';
import { EventRegistry, agentEventDefinitions, ipamEventDefinitions } from '@ncp/contracts';
import { AggregateRepository, JetStreamEventStore, connectNats } from '@ncp/eventstore';
import { deployIpamMigrations, freePort } from '@ncp/testing';
import { IpamProcess, MAC_PREFIX, benchSecurityGroups, cleanUpIpamBench, prng, requestMeta, startIpamBench } from '../lib/ipam-load.mjs';
import { api, saveResult, waitUntil } from '../lib/stack-bench.mjs';
// IPAM's own write path, from its build: what the HTTP handlers and cmd.ipam.* call.
import { createPortInput, updatePortInput } from '../../apps/ipam/dist/api/bodies.js';
import { PortCommands } from '../../apps/ipam/dist/application/port.commands.js';
import { networkDecider } from '../../apps/ipam/dist/domain/network.decider.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// Not projections (snapshots are an optimisation, checkpoints are compared on their own).
const NOT_PROJECTION_TABLES = new Set(['projection_checkpoints', 'aggregate_snapshots', '_prisma_migrations', '_ncp_migrations']);
// Not compared: IPAM's quota reaction confirms each port the load created (a usage event per
// port, one at a time) and falls far behind the load, so these tables are still growing while
// the rebuild runs; the quota projection's rebuild is checked by IPAM's integration tests.
const QUOTA_TABLES = new Set(['quota_usage', 'quota_usage_items', 'quota_limits']);

/**
 * @typedef {import('@nats-io/nats-core').NatsConnection} NatsConnection
 * @typedef {ReturnType<typeof parseOptions>} Options
 * @typedef {{ id: string, extraV4: boolean }} LivePort
 * @typedef {{ id: string, v4: string, v6: string, ports: LivePort[], project: string }} SeededNetwork
 * @typedef {{ created: number, updated: number, deleted: number }} Counts
 * @typedef {{ name: string, checkpoint: number, pending: number, running: boolean }} ProjectionStatus
 * @typedef {{ state: string, query: string }} Session
 * @typedef {{ at: number, rows: Session[] }} SessionSample
 * @typedef {{ busy: number, idle: number, steal: number }} CpuTimes
 * @typedef {{ busyPct: number, idlePct: number, stealPct: number }} CpuShare
 * @typedef {{ samples: number, postgresPct: number, ipamInBatchPct: number, outsideBatchPct: number, top: { query: string, pct: number }[] }} SampleShare
 * @typedef {{ tables: Record<string, { rows: number, digest: string }>, checkpoints: Record<string, number> }} Fingerprint
 * @typedef {object} BenchResult  what the JSON result file holds
 * @property {string} at
 * @property {string} machine
 * @property {string} command
 * @property {Options} options
 * @property {{ networks: number, subnets: number, ports: number, events: number, seconds: number }} [seed]
 * @property {{ events: number, seconds: number, perSecond: number, created: number, updated: number, deleted: number, ipamRunning: boolean, cpu: CpuShare | null }} [load]
 * @property {{ lastSequence: number, livePorts: number }} [stream]
 * @property {{ atLoadEnd: number, catchUpSeconds: number, catchUpPerSecond: number, cpu: CpuShare | null }} [live]
 * @property {{ events: number, seconds: number, perSecond: number, ipamDurationMs: number, cpu: CpuShare | null, projections: unknown, samples: unknown, sessions: unknown, profile?: unknown }} [rebuild]
 * @property {object} [check]
 */

// ---------------------------------------------------------------------------- options

/** @param {string[]} argv */
function parseOptions(argv) {
  const o = parseBenchOptions(argv, 'node bench/replay/run.mjs', {
    events: intOption('port events to load', 1000000, 1),
    // two /16s per first octet from 10 up, see seedNetwork
    networks: intOption('networks to spread them over = appends in flight', 100, 1, 2550),
    'pause-ipam': flagOption('stop IPAM while loading (the load runs alone; its live projection\nthen catches up from its checkpoint when it starts again)'),
    seed: intOption('seed of the pseudo-random operation mix', 1, 0),
    'timeout-min': intOption('give up on the rebuild after N minutes', 120, 1),
    profile: textOption('DIR', "write IPAM's CPU profile of the rebuild to DIR/ipam-1.cpuprofile and print where its time went", undefined),
  });
  return { events: o.events, networks: o.networks, pauseIpam: o['pause-ipam'], seed: o.seed, timeoutMin: o['timeout-min'], profile: o.profile };
}

// ---------------------------------------------------------------------------- interruption

let interrupted = false;
const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: cleaning up (again to quit at once)...`);
    abort.abort(new Error('interrupted'));
  });
}

/**
 * Rejects as soon as the run is interrupted, for waits that poll nothing themselves.
 * @template T
 * @param {Promise<T>} promise
 * @returns {Promise<T>}
 */
function abortable(promise) {
  const reason = () => (abort.signal.reason instanceof Error ? abort.signal.reason : new Error(String(abort.signal.reason)));
  if (abort.signal.aborted) return Promise.reject(reason());
  /** @type {() => void} */
  let onAbort = () => undefined;
  /** @type {Promise<never>} */
  const aborted = new Promise((_, reject) => {
    onAbort = () => reject(reason());
    abort.signal.addEventListener('abort', onAbort, { once: true });
  });
  // polls call this thousands of times: do not leave a listener behind each
  return Promise.race([promise, aborted]).finally(() => abort.signal.removeEventListener('abort', onAbort));
}

// ---------------------------------------------------------------------------- admin requests

/**
 * @param {NatsConnection} nc
 * @param {import('@ncp/contracts').Naming} naming
 * @param {string} verb
 * @param {number} timeoutMs
 * @returns {Promise<unknown>} the reply's result
 */
async function adminRequest(nc, naming, verb, timeoutMs) {
  const msg = await abortable(nc.request(naming.adminSubject('ipam', verb), '{}', { timeout: timeoutMs }));
  /** @type {unknown} */
  const parsed = JSON.parse(msg.string());
  const body = /** @type {{ result?: unknown, error?: { message: string } }} */ (parsed);
  if (body.error) throw new Error(`admin.ipam.${verb}: ${body.error.message}`);
  return body.result;
}

/**
 * The `ipam` projection's status.
 * @param {NatsConnection} nc
 * @param {import('@ncp/contracts').Naming} naming
 * @returns {Promise<ProjectionStatus>}
 */
async function ipamStatus(nc, naming) {
  const all = /** @type {ProjectionStatus[]} */ (await adminRequest(nc, naming, 'projection_status', 30_000));
  const s = all.find((p) => p.name === 'ipam');
  if (!s) throw new Error(`no ipam projection in ${JSON.stringify(all)}`);
  return s;
}

/**
 * @param {NatsConnection} nc
 * @param {import('@ncp/contracts').Naming} naming
 * @param {number} target
 * @param {string} what
 */
async function waitForLiveProjection(nc, naming, target, what) {
  let last = 0;
  await waitUntil(
    what,
    async () => {
      const s = await ipamStatus(nc, naming);
      if (s.checkpoint - last >= 50_000 || (s.checkpoint >= target && last < target)) {
        console.log(`  live projection at ${s.checkpoint}/${target}`);
        last = s.checkpoint;
      }
      return s.checkpoint >= target && s.pending === 0;
    },
    3_600_000,
    // bench/lib's untyped default makes `stop` a () => false
    { pollMs: 500, stop: /** @type {() => false} */ (() => interrupted) },
  );
}

// ---------------------------------------------------------------------------- fingerprint

/**
 * Row count and an order-independent digest (md5 over the sorted md5s of each row's text)
 * of every projection table in schema ipam.
 * @param {string} databaseUrl
 * @returns {Promise<Fingerprint>}
 */
async function fingerprint(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = /** @type {{ rows: { table_name: string }[] }} */ (
      await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'ipam' AND table_type = 'BASE TABLE' ORDER BY table_name`)
    );
    /** @type {Fingerprint['tables']} */
    const out = {};
    for (const { table_name: table } of tables) {
      if (NOT_PROJECTION_TABLES.has(table)) continue;
      const { rows } = /** @type {{ rows: { n: string, digest: string }[] }} */ (
        await client.query(
          `SELECT count(*)::bigint AS n, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS digest
           FROM (SELECT md5(t::text) AS h FROM ipam.${client.escapeIdentifier(table)} t) x`,
        )
      );
      const [{ n, digest } = { n: '0', digest: '' }] = rows;
      out[table] = { rows: Number(n), digest };
    }
    const { rows: checkpoints } = await client.query(`SELECT name, sequence::bigint AS sequence FROM ipam.projection_checkpoints ORDER BY name`);
    return {
      tables: out,
      checkpoints: Object.fromEntries(checkpoints.map((/** @type {{ name: string, sequence: string }} */ c) => [c.name, Number(c.sequence)])),
    };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------- seed

/**
 * Creates one resource through IPAM's API; its id is all the benchmark keeps of it.
 * @param {IpamProcess} ipam
 * @param {'network' | 'subnet' | 'port'} kind
 * @param {Record<string, unknown>} fields
 * @returns {Promise<string>}
 */
async function create(ipam, kind, fields) {
  /** @type {unknown} */
  const answer = await api(ipam, 'POST', `/v2.0/${kind}s`, { [kind]: fields });
  const id = /** @type {Record<string, { id?: string } | undefined>} */ (answer)[kind]?.id;
  if (id === undefined) throw new Error(`POST /v2.0/${kind}s answered without the ${kind}'s id`);
  return id;
}

/**
 * @param {IpamProcess} ipam
 * @param {number} i
 * @returns {Promise<SeededNetwork>}
 */
async function seedNetwork(ipam, i) {
  const network = await create(ipam, 'network', { name: `replay-${i}` });
  // 10.0.0.0/16 ... 10.255.0.0/16, 11.0.0.0/16, ...: overlapping tenant space is allowed, but
  // distinct prefixes keep the shapes plausible.
  const v4cidr = `${10 + Math.floor(i / 256)}.${i % 256}.0.0/16`;
  const v4 = await create(ipam, 'subnet', { network_id: network, name: `v4-${i}`, ip_version: 4, cidr: v4cidr });
  const v6 = await create(ipam, 'subnet', {
    network_id: network,
    name: `v6-${i}`,
    ip_version: 6,
    cidr: `fd00:${i.toString(16)}::/64`,
    ipv6_ra_mode: 'slaac',
    ipv6_address_mode: 'slaac',
  });
  const ports = [];
  // IPAM runs alone here: ports naming no groups need no answer from the security groups service
  for (const body of [
    { network_id: network, name: `seed-${i}-a`, security_groups: [] },
    {
      network_id: network,
      name: `seed-${i}-b`,
      security_groups: [],
      device_owner: 'compute:nova',
      device_id: randomUUID(),
      'binding:host_id': `compute-${i % 16}`,
    },
  ]) {
    ports.push({ id: await create(ipam, 'port', body), extraV4: false });
  }
  return { id: network, v4, v6, ports, project: loadProjectOf(i) };
}

/**
 * The project the load's ports on network `i` belong to: one per network, as a cloud has many.
 * IPAM counts every project's ports in one usage aggregate of that project (quotas), and its
 * reaction confirms each port the load creates there: with all 300,000 in one project, each
 * confirmation folded the whole list and the reaction fell hours behind the load.
 * @param {number} i
 */
const loadProjectOf = (i) => `10ad${i.toString(16).padStart(28, '0')}`;

/**
 * @param {IpamProcess} ipam
 * @param {number} count
 */
async function seed(ipam, count) {
  /** @type {SeededNetwork[]} */
  const networks = new Array(count);
  let next = 0;
  // a few at a time: network creation goes through the one segment registry aggregate anyway
  await Promise.all(
    Array.from({ length: Math.min(4, count) }, async () => {
      while (next < count && !interrupted) {
        const i = next++;
        networks[i] = await seedNetwork(ipam, i);
      }
    }),
  );
  if (interrupted) throw new Error('interrupted');
  return networks;
}

// ---------------------------------------------------------------------------- load

/**
 * One network's share of the load: commands one after another, as the network aggregate
 * takes them. Every command is one the API would accept for the port it names (a port
 * updated or deleted exists: it was created on this network and not deleted yet), so every
 * event is one IPAM itself would have written.
 * @param {SeededNetwork & { owner: Map<string, string> }} net
 * @param {import('../../apps/ipam/dist/application/port.commands.js').PortCommands} commands
 * @param {() => number} random
 * @param {number} quota
 * @param {Counts} counts
 */
async function loadNetwork(net, commands, random, quota, counts) {
  const live = net.ports;
  const pickPort = () => Math.floor(random() * live.length);
  // this network's own counts pick the variants, so the mix does not depend on timing
  const mine = { created: 0, updated: 0 };
  for (let k = 0; k < quota && !interrupted; k++) {
    const meta = requestMeta();
    const r = random();
    // Mix: ~30% creates, ~60% updates, ~10% deletes, so the rebuild inserts, updates and
    // deletes rows and the tables end up with ~(30-10)% of the events as ports.
    if (live.length < 4 || r < 0.3) {
      const n = mine.created++;
      const body =
        n % 3 === 0
          ? {
              network_id: net.id,
              project_id: net.project,
              name: `vm-${n}`,
              device_owner: 'compute:nova',
              device_id: randomUUID(),
              'binding:host_id': `compute-${n % 16}`,
            }
          : { network_id: net.id, project_id: net.project, name: `port-${n}`, description: 'replay bench' };
      const i = createPortInput({ port: body }, meta);
      const written = await commands.create(i.networkId, i.projectId, i.request, meta);
      net.owner.set(written.id, net.id);
      live.push({ id: written.id, extraV4: false });
      counts.created++;
    } else if (r < 0.9) {
      const port = /** @type {LivePort} */ (live[pickPort()]);
      const u = mine.updated++;
      const kind = u % 5;
      let body;
      if (kind === 0) body = { name: `renamed-${u}`, description: `rev ${u}` };
      else if (kind === 1)
        body = {
          'binding:host_id': `compute-${u % 16}`,
          device_owner: 'compute:nova',
          device_id: randomUUID(),
          'binding:profile': { migrating_to: null, n: u % 7 },
        };
      else if (kind === 2)
        body = {
          extra_dhcp_opts: [
            { opt_name: 'tftp-server', opt_value: `192.0.2.${u % 250}`, ip_version: 4 },
            { opt_name: 'bootfile-name', opt_value: 'pxelinux.0', ip_version: 4 },
          ],
        };
      else if (kind === 3) body = { allowed_address_pairs: [{ ip_address: `198.51.100.${u % 250}` }] };
      else {
        // Re-address: a second IPv4 address (the first entry keeps the current one) or back
        // to one; the SLAAC address stays. Rewrites the port's port_fixed_ips rows.
        body = { fixed_ips: port.extraV4 ? [{ subnet_id: net.v4 }] : [{ subnet_id: net.v4 }, { subnet_id: net.v4 }] };
        port.extraV4 = !port.extraV4;
      }
      await commands.update(port.id, updatePortInput({ port: body }), undefined, meta);
      counts.updated++;
    } else {
      const at = pickPort();
      const port = /** @type {LivePort} */ (live[at]);
      live[at] = /** @type {LivePort} */ (live[live.length - 1]);
      live.pop();
      await commands.delete(port.id, meta);
      net.owner.delete(port.id);
      counts.deleted++;
    }
  }
}

/**
 * @param {NatsConnection} nc
 * @param {import('@ncp/contracts').Naming} naming
 * @param {SeededNetwork[]} networks
 * @param {Options} opts
 */
async function load(nc, naming, networks, opts) {
  const registry = new EventRegistry([...ipamEventDefinitions, ...agentEventDefinitions]);
  const store = new JetStreamEventStore(nc, naming, registry);
  // As IpamWriteModel builds it, without snapshots (they are kept in IPAM's database, never
  // in the stream) and with room for every network in the cache.
  const repo = new AggregateRepository(store, networkDecider, { cacheSize: networks.length + 10 });
  /** @type {Map<string, string>} */
  const owner = new Map();
  for (const net of networks) for (const p of net.ports) owner.set(p.id, net.id);
  // Port commands use only the network repository and the MAC prefix of the write model, and
  // only networkOfPort of the lookups: the rest of either is not there.
  const model = /** @type {import('../../apps/ipam/dist/application/write-model.js').IpamWriteModel} */ (
    /** @type {unknown} */ ({ networks: repo, policies: { macPrefix: MAC_PREFIX } })
  );
  // What IPAM answers from its projection; here from what this loader wrote.
  const lookups = /** @type {import('../../apps/ipam/dist/application/lookups.js').AggregateLookups} */ (
    /** @type {unknown} */ ({
      networkOfPort: async (/** @type {string} */ portId) => {
        const id = owner.get(portId);
        if (!id) throw new Error(`port ${portId} is not one of ours`);
        return id;
      },
    })
  );
  const commands = new PortCommands(model, lookups, benchSecurityGroups);
  const counts = { created: 0, updated: 0, deleted: 0 };
  const done = () => counts.created + counts.updated + counts.deleted;
  const t0 = performance.now();
  let lastPrint = t0;
  let lastDone = 0;
  const progress = setInterval(() => {
    const now = performance.now();
    const d = done();
    const rate = (d - lastDone) / ((now - lastPrint) / 1000);
    const avg = d / ((now - t0) / 1000);
    const eta = avg > 0 ? (opts.events - d) / avg : Infinity;
    console.log(`  loaded ${d}/${opts.events}  ${Math.round(rate)} ev/s now, ${Math.round(avg)} ev/s avg, ETA ${fmtSeconds(eta)}`);
    lastPrint = now;
    lastDone = d;
  }, 10_000);
  try {
    const random = prng(opts.seed);
    // one PRNG and one quota per network, from the run's seed: the same operations every run
    // --events split evenly; the first networks take the remainder
    const share = (/** @type {number} */ i) => Math.floor(opts.events / networks.length) + (i < opts.events % networks.length ? 1 : 0);
    await Promise.all(networks.map((net, i) => loadNetwork({ ...net, owner }, commands, prng(Math.floor(random() * 2 ** 32)), share(i), counts)));
  } finally {
    clearInterval(progress);
  }
  if (interrupted) throw new Error('interrupted');
  const seconds = (performance.now() - t0) / 1000;
  return { events: done(), seconds, counts, livePorts: networks.reduce((n, net) => n + net.ports.length, 0) };
}

// ---------------------------------------------------------------------------- rebuild

/**
 * @param {NatsConnection} nc
 * @param {import('@ncp/contracts').Naming} naming
 * @param {number} target
 * @param {number} timeoutMin
 */
async function rebuild(nc, naming, target, timeoutMin) {
  const t0 = performance.now();
  const reply = adminRequest(nc, naming, 'projection_rebuild', timeoutMin * 60_000);
  let finished = false;
  reply.then(
    () => (finished = true),
    () => (finished = true),
  );
  let last = { at: t0, checkpoint: 0 };
  const samples = [];
  while (!finished && !interrupted) {
    await Promise.race([reply.catch(() => undefined), sleep(5_000)]);
    if (finished) break;
    let s;
    try {
      s = await ipamStatus(nc, naming);
    } catch (e) {
      // IPAM is busy; the next poll will do
      console.log(`  (status: ${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    const now = performance.now();
    const rate = (s.checkpoint - last.checkpoint) / ((now - last.at) / 1000);
    const avg = s.checkpoint / ((now - t0) / 1000);
    const eta = avg > 0 ? (target - s.checkpoint) / avg : Infinity;
    samples.push({ seconds: +((now - t0) / 1000).toFixed(1), checkpoint: s.checkpoint });
    console.log(`  rebuilt ${s.checkpoint}/${target}  ${Math.round(rate)} ev/s now, ${Math.round(avg)} ev/s avg, ETA ${fmtSeconds(eta)}`);
    last = { at: now, checkpoint: s.checkpoint };
  }
  const result = /** @type {{ durationMs: number, projections: unknown }} */ (await reply);
  return { seconds: (performance.now() - t0) / 1000, ipamDurationMs: result.durationMs, projections: result.projections, samples };
}

/**
 * Samples IPAM's Postgres sessions (pg_stat_activity of the bench database) every 100 ms
 * while the rebuild runs, to tell where its time goes: a session `active` is Postgres
 * executing that statement; `idle in transaction` is IPAM's process working inside a batch
 * (decoding, folding, building parameters); no session in a transaction is IPAM outside a
 * batch (waiting for messages, committing acks).
 *
 * @param {string} databaseUrl
 */
function samplePostgres(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl });
  /** @type {SessionSample[]} */
  const samples = [];
  let stopped = false;
  const loop = (async () => {
    await client.connect();
    while (!stopped) {
      /** @type {{ rows: unknown }} */
      const answer = await client.query(
        `SELECT state, left(regexp_replace(query, '\\s+', ' ', 'g'), 40) AS query FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'`,
      );
      samples.push({ at: performance.now(), rows: /** @type {Session[]} */ (answer.rows) });
      await sleep(100);
    }
    await client.end();
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return summariseSamples(samples);
    },
  };
}

/**
 * Shares of the samples, for the first and the last fifth of the run and for all of it.
 * @param {SessionSample[]} samples
 */
function summariseSamples(samples) {
  /**
   * @param {SessionSample[]} list
   * @returns {SampleShare}
   */
  const share = (list) => {
    const n = list.length || 1;
    const pct = (/** @type {number} */ k) => Math.round((1000 * k) / n) / 10;
    /** @type {Record<string, number>} */
    const statements = {};
    let active = 0;
    let inTransaction = 0;
    for (const { rows } of list) {
      const running = rows.filter((r) => r.state === 'active');
      if (running.length > 0) active++;
      else if (rows.some((r) => r.state === 'idle in transaction')) inTransaction++;
      for (const r of running) statements[r.query] = (statements[r.query] ?? 0) + 1;
    }
    const top = Object.entries(statements)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([query, k]) => ({ query, pct: pct(k) }));
    return {
      samples: list.length,
      postgresPct: pct(active),
      ipamInBatchPct: pct(inTransaction),
      outsideBatchPct: pct(list.length - active - inTransaction),
      top,
    };
  };
  const fifth = Math.floor(samples.length / 5);
  return { all: share(samples), firstFifth: share(samples.slice(0, fifth)), lastFifth: share(samples.slice(samples.length - fifth)) };
}

/**
 * @param {string} label
 * @param {SampleShare} s
 */
const fmtSampled = (label, s) =>
  `  ${label.padEnd(12)} Postgres executing ${s.postgresPct}%, IPAM inside a batch ${s.ipamInBatchPct}%, outside a batch ${s.outsideBatchPct}% (${s.samples} samples); top: ${s.top.map((t) => `${t.query}... ${t.pct}%`).join('; ')}`;

// ---------------------------------------------------------------------------- main

/** @param {number} s */
function fmtSeconds(s) {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

/**
 * The machine's CPU time counters (Linux /proc/stat, in ticks); null elsewhere.
 * @returns {CpuTimes | null}
 */
function cpuTimes() {
  try {
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
  } catch {
    return null;
  }
}

/**
 * How the machine's CPUs spent a phase, in % of all of them: busy (anyone, not only this
 * benchmark), idle, and stolen by the hypervisor. On a shared VM steal slows everything
 * here down, so a run is only comparable with one of similar steal.
 *
 * @param {CpuTimes | null} from
 * @returns {CpuShare | null}
 */
function cpuShare(from, to = cpuTimes()) {
  if (!from || !to) return null;
  const d = { busy: to.busy - from.busy, idle: to.idle - from.idle, steal: to.steal - from.steal };
  const total = d.busy + d.idle + d.steal;
  if (total <= 0) return null;
  const pct = (/** @type {number} */ v) => Math.round((1000 * v) / total) / 10;
  return { busyPct: pct(d.busy), idlePct: pct(d.idle), stealPct: pct(d.steal) };
}
const fmtCpu = (/** @type {CpuShare | null} */ c) => (c ? `CPU busy ${c.busyPct}%, idle ${c.idlePct}%, stolen ${c.stealPct}%` : 'CPU ?');

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const bench = await startIpamBench('replay', opts);
  const { infra, prefix, naming, database } = bench;
  const result = /** @type {BenchResult} */ (bench.result);
  let ipam;
  /** @type {NatsConnection | undefined} */
  let nc;
  try {
    await deployIpamMigrations(database.url);
    if (opts.profile) {
      mkdirSync(opts.profile, { recursive: true });
      enableServiceProfiles(path.resolve(opts.profile));
    }
    ipam = new IpamProcess({ DATABASE_URL: database.url, NATS_URL: infra.natsUrl, NATS_PREFIX: prefix, LOG_LEVEL: 'warn', PORT: String(await freePort()) });
    await ipam.start(() => interrupted);
    nc = await connectNats(infra.natsUrl, `bench-replay-${prefix}`);
    const store = new JetStreamEventStore(nc, naming, new EventRegistry([...ipamEventDefinitions, ...agentEventDefinitions]));
    console.log(`ipam ${ipam.url}, database ${database.name}, stream ${naming.eventStream}`);

    // --- seed through the API
    let t = performance.now();
    const networks = await seed(ipam, opts.networks);
    const seedEvents = await store.streamLastSequence();
    result.seed = {
      networks: networks.length,
      subnets: networks.length * 2,
      ports: networks.length * 2,
      events: seedEvents,
      seconds: +((performance.now() - t) / 1000).toFixed(1),
    };
    console.log(
      `seeded ${networks.length} networks, ${networks.length * 2} subnets, ${networks.length * 2} ports through the API: ${seedEvents} events in ${result.seed.seconds} s`,
    );

    // --- load
    if (opts.pauseIpam) await ipam.stop();
    console.log(
      `loading ${opts.events} port events over ${networks.length} networks through IPAM's write path${opts.pauseIpam ? ' (IPAM stopped)' : ' (IPAM running)'}...`,
    );
    let cpu = cpuTimes();
    const loaded = await load(nc, naming, networks, opts);
    const lastSequence = await store.streamLastSequence();
    result.load = {
      events: loaded.events,
      seconds: +loaded.seconds.toFixed(1),
      perSecond: Math.round(loaded.events / loaded.seconds),
      created: loaded.counts.created,
      updated: loaded.counts.updated,
      deleted: loaded.counts.deleted,
      ipamRunning: !opts.pauseIpam,
      cpu: cpuShare(cpu),
    };
    result.stream = { lastSequence, livePorts: loaded.livePorts };
    console.log(
      `loaded ${loaded.events} events (${loaded.counts.created} PortCreated, ${loaded.counts.updated} PortUpdated, ${loaded.counts.deleted} PortDeleted) in ${fmtSeconds(loaded.seconds)}: ${result.load.perSecond} events/s; stream at ${lastSequence}; ${fmtCpu(result.load.cpu)}`,
    );

    // --- the live projection, caught up
    // where the live projection stood when the load ended (with IPAM stopped: at the seed)
    const liveAtLoadEnd = opts.pauseIpam ? seedEvents : (await ipamStatus(nc, naming)).checkpoint;
    t = performance.now();
    cpu = cpuTimes();
    if (opts.pauseIpam) await ipam.start(() => interrupted);
    await waitForLiveProjection(nc, naming, lastSequence, 'live projection catching up');
    const catchUpSeconds = (performance.now() - t) / 1000;
    result.live = {
      atLoadEnd: liveAtLoadEnd,
      catchUpSeconds: +catchUpSeconds.toFixed(1),
      catchUpPerSecond: Math.round((lastSequence - liveAtLoadEnd) / catchUpSeconds),
      cpu: cpuShare(cpu),
    };
    console.log(
      `live projection was at ${liveAtLoadEnd} when the load ended and caught up ${fmtSeconds(catchUpSeconds)} later${opts.pauseIpam ? ' (IPAM restarted)' : ''}: ${result.live.catchUpPerSecond} events/s; ${fmtCpu(result.live.cpu)}`,
    );
    const before = await fingerprint(database.url);
    console.log(
      `before: ${Object.entries(before.tables)
        .map(([k, v]) => `${k} ${v.rows}`)
        .join(', ')}`,
    );

    // --- rebuild
    console.log(`rebuilding the ipam projection from sequence 1 (admin.ipam.projection_rebuild)...`);
    cpu = cpuTimes();
    const sampler = samplePostgres(database.url);
    if (opts.profile) toggleServiceProfiles({ ipam: ipam.child?.pid });
    const rebuilt = await rebuild(nc, naming, lastSequence, opts.timeoutMin);
    if (opts.profile) toggleServiceProfiles({ ipam: ipam.child?.pid });
    const sessions = await sampler.stop();
    result.rebuild = {
      events: lastSequence,
      seconds: +rebuilt.seconds.toFixed(1),
      perSecond: Math.round(lastSequence / rebuilt.seconds),
      ipamDurationMs: rebuilt.ipamDurationMs,
      cpu: cpuShare(cpu),
      projections: rebuilt.projections,
      samples: rebuilt.samples,
      sessions,
    };
    console.log(
      `rebuilt ${lastSequence} events in ${fmtSeconds(rebuilt.seconds)}: ${result.rebuild.perSecond} events/s (IPAM reports ${rebuilt.ipamDurationMs} ms); ${fmtCpu(result.rebuild.cpu)}`,
    );
    console.log("where the rebuild's time went (pg_stat_activity every 100 ms):");
    /** @type {[string, SampleShare][]} */
    const shares = [
      ['first fifth', sessions.firstFifth],
      ['last fifth', sessions.lastFifth],
      ['all', sessions.all],
    ];
    for (const [label, share] of shares) console.log(fmtSampled(label, share));
    if (opts.profile) {
      const [file] = await profilesWritten(path.resolve(opts.profile), ['ipam'], 1);
      const byPackage = file ? profileByPackage(file).slice(0, 8) : [];
      result.rebuild.profile = { file, byPackagePct: byPackage };
      console.log(
        `IPAM's CPU profile of the rebuild: ${file ?? 'not written'}; % of its samples: ${byPackage.map(([what, pct]) => `${what} ${pct}`).join(', ')}`,
      );
    }

    // --- equality
    const after = await fingerprint(database.url);
    /** @type {Record<string, { rows: number | null, rowsBefore: number | null, same: boolean }>} */
    const tables = {};
    // The checkpoints are recorded, not compared: the reaction's usage events move them on, and
    // the runner writes the checkpoint past skipped events a second late.
    let equal = true;
    for (const name of new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])) {
      if (QUOTA_TABLES.has(name)) continue;
      const b = before.tables[name];
      const a = after.tables[name];
      const same = b !== undefined && a !== undefined && b.rows === a.rows && b.digest === a.digest;
      equal &&= same;
      tables[name] = { rows: a?.rows ?? null, rowsBefore: b?.rows ?? null, same };
    }
    const expectedPorts = loaded.livePorts;
    const portsOk = after.tables.ports?.rows === expectedPorts;
    result.check = { equal, portsAsLoaded: portsOk, expectedPorts, checkpoints: { before: before.checkpoints, after: after.checkpoints }, tables };
    for (const [name, v] of Object.entries(tables))
      console.log(`  ${name.padEnd(24)} ${String(v.rows).padStart(9)} rows  ${v.same ? 'same' : `DIFFERENT (before: ${v.rowsBefore} rows)`}`);
    console.log(
      `rebuilt projection ${equal ? 'equals' : 'DIFFERS FROM'} the live one; ports ${after.tables.ports?.rows} (${portsOk ? 'as loaded' : `expected ${expectedPorts}`})`,
    );
    if (!equal || !portsOk) process.exitCode = 1;
  } catch (e) {
    if (ipam && !interrupted) console.error(`--- ipam output (last lines)\n${ipam.logs().split('\n').slice(-40).join('\n')}`);
    throw e;
  } finally {
    await cleanUpIpamBench(bench, ipam, [() => nc?.close()]);
  }
  saveResult(HERE, result);
}

main().catch((e) => {
  console.error(interrupted ? 'interrupted' : e);
  process.exit(interrupted ? 130 : 1);
});
