#!/usr/bin/env node
// @ts-check
// Restart benchmark: how long IPAM's API is unavailable after a kill -9, with a large stream.
//
//   node bench/restart/run.mjs [--events 100000] [--networks 50] [--hosts 16] [--restarts 3]
//
// 1. Starts IPAM alone (built apps/ipam, as TestStack starts it: fresh database with the ipam
//    migrations, fresh NATS prefix) and seeds it through its Neutron API: --networks networks,
//    each with an IPv4 /16; registers --hosts agents (AgentRegistered, as an agent does).
// 2. Loads --events port events (created, some bound to the agents' hosts, updated, rebound,
//    deleted) through IPAM's own write path run in this process (the built PortCommands, the
//    network decider, AggregateRepository / JetStreamEventStore), one command in flight per
//    network, and waits until IPAM's projection has applied them.
// 3. --restarts times: kill -9 IPAM, start it again at once, and measure from the kill to the
//    first 2xx of a write (POST /v2.0/ports) and of a read (GET /v2.0/networks/<id>), each
//    polled every 20 ms, and to /healthz 200.
// Everything it made is removed at the end, also on failure or Ctrl-C. See README.md.

import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { flagOption, intOption, parseBenchOptions } from '../lib/options.mjs';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { DESIRED_STATE_BUCKET, EventRegistry, agentEventDefinitions, ipamEventDefinitions } from '@ncp/contracts';
import { AggregateRepository, JetStreamEventStore, SqlSnapshotStore, connectNats } from '@ncp/eventstore';
import { deployIpamMigrations, freePort } from '@ncp/testing';
import { IPAM_DIST, IpamProcess, MAC_PREFIX, benchSecurityGroups, cleanUpIpamBench, prng, requestMeta, startIpamBench } from '../lib/ipam-load.mjs';
import { api, percentile, saveResult, waitUntil } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { networkDecider } = require(path.join(IPAM_DIST, 'domain/network.decider.js'));
const { PortCommands } = require(path.join(IPAM_DIST, 'application/port.commands.js'));
const { createPortInput, updatePortInput } = require(path.join(IPAM_DIST, 'api/bodies.js'));
const { createPrisma } = require(path.join(IPAM_DIST, 'infrastructure/prisma.js'));

const POLL_MS = 20;

/** @param {string[]} argv */
function parseOptions(argv) {
  const o = parseBenchOptions(argv, 'node bench/restart/run.mjs', {
    events: intOption('port events to load', 100000, 1),
    networks: intOption('networks to spread them over = appends in flight', 50, 1, 250),
    hosts: intOption('agents registered, hosts the bound ports go to', 16, 1, 1000),
    restarts: intOption('kill -9 and restart this many times', 3, 1, 100),
    seed: intOption('seed of the operation mix', 1, 0),
    'no-snapshot': flagOption(
      "for an IPAM that keeps no desired-state snapshot (a build before it had\none): do not wait for one before a kill, nor for its 'caught up' log line",
    ),
  });
  return { events: o.events, networks: o.networks, hosts: o.hosts, restarts: o.restarts, seed: o.seed, snapshot: !o['no-snapshot'] };
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: cleaning up (again to quit at once)...`);
  });
}

// ---------------------------------------------------------------------------- IPAM process

/** How many times IPAM's output has said its desired state caught up (counted as the lines arrive). */
let caughtUpLines = 0;
/** @param {string} line */
const countCaughtUp = (line) => {
  if (line.includes('desired state caught up')) caughtUpLines++;
};

/**
 * One request; its status, or 0 when nothing answered.
 * @param {string} url
 * @param {RequestInit} [init]
 */
async function status(url, init) {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** @typedef {import('@nats-io/nats-core').NatsConnection} NatsConnection */
/** @typedef {import('@ncp/contracts').Naming} Names */
/** @typedef {import('@ncp/eventstore').JetStreamEventStore} EventStore */

/**
 * @param {NatsConnection} nc
 * @param {Names} naming
 * @returns {Promise<{ name: string, checkpoint: number, pending: number }>}
 */
async function adminStatus(nc, naming) {
  const msg = await nc.request(naming.adminSubject('ipam', 'projection_status'), '{}', { timeout: 30_000 });
  const body = JSON.parse(msg.string());
  if (body.error) throw new Error(body.error.message);
  const s = body.result.find((/** @type {{ name: string }} */ p) => p.name === 'ipam');
  if (!s) throw new Error(`no ipam projection in ${msg.string()}`);
  return s;
}

/**
 * @param {NatsConnection} nc
 * @param {Names} naming
 * @param {EventStore} store
 */
async function caughtUp(nc, naming, store) {
  const target = await store.streamLastSequence();
  await waitUntil(
    'ipam projection caught up',
    async () => {
      const s = await adminStatus(nc, naming).catch(() => null);
      return s !== null && s.checkpoint >= target && s.pending === 0;
    },
    1_800_000,
    { pollMs: 500, stop: () => interrupted },
  );
}

// ---------------------------------------------------------------------------- seed and load

/** @typedef {ReturnType<typeof parseOptions>} Options */
/** @typedef {{ id: string, ports: string[] }} LoadedNetwork */

/**
 * @param {IpamProcess} ipam
 * @param {EventStore} store
 * @param {Names} naming
 * @param {Options} opts
 */
async function seed(ipam, store, naming, opts) {
  /** @type {LoadedNetwork[]} */
  const networks = [];
  for (let i = 0; i < opts.networks && !interrupted; i++) {
    const { network } = await api(ipam, 'POST', '/v2.0/networks', { network: { name: `restart-${i}` } });
    await api(ipam, 'POST', '/v2.0/subnets', { subnet: { network_id: network.id, name: `v4-${i}`, ip_version: 4, cidr: `10.${i}.0.0/16` } });
    networks.push({ id: network.id, ports: [] });
  }
  // The agents, registered as an agent does on start: their hosts get L2 desired state.
  for (let h = 0; h < opts.hosts; h++) {
    const agentId = randomUUID();
    const data = {
      row: `row-${h % 2 === 0 ? 'a' : 'b'}`,
      host: `compute-${h}`,
      roles: ['compute'],
      tunnelIp: `10.250.${Math.floor(h / 250)}.${(h % 250) + 1}`,
      physnets: {},
      version: 'bench',
      startedAt: new Date().toISOString(),
    };
    const envelope = store.envelope({ type: 'AgentRegistered', data }, 'agent', agentId, { ...requestMeta(), actor: `agent:${data.row}/${data.host}` });
    await store.append(naming.eventSubject('agent', 'agent', agentId), envelope, 0);
  }
  return networks;
}

/** @typedef {{ created: number, updated: number, deleted: number }} Counts */

/**
 * ~40% creates (every other one bound to a host), ~50% updates (renames and rebinds), ~10% deletes.
 * @param {LoadedNetwork & { owner: Map<string, string> }} net
 * @param {any} commands IPAM's PortCommands (its dist, untyped here)
 * @param {() => number} random
 * @param {number} quota
 * @param {number} hosts
 * @param {Counts} counts
 */
async function loadNetwork(net, commands, random, quota, hosts, counts) {
  const live = net.ports;
  for (let k = 0; k < quota && !interrupted; k++) {
    const meta = requestMeta();
    const r = random();
    const host = `compute-${Math.floor(random() * hosts)}`;
    if (live.length < 4 || r < 0.4) {
      const bound = counts.created % 2 === 0;
      const body = bound
        ? { network_id: net.id, name: `vm-${k}`, device_owner: 'compute:nova', device_id: randomUUID(), 'binding:host_id': host }
        : { network_id: net.id, name: `port-${k}` };
      const i = createPortInput({ port: body }, meta);
      /** @type {{ id: string }} */
      const written = await commands.create(i.networkId, i.projectId, i.request, meta);
      net.owner.set(written.id, net.id);
      live.push(written.id);
      counts.created++;
    } else if (r < 0.9) {
      const id = live[Math.floor(random() * live.length)];
      if (id === undefined) continue;
      const body = k % 2 === 0 ? { name: `renamed-${k}` } : { 'binding:host_id': host, device_owner: 'compute:nova', device_id: randomUUID() };
      await commands.update(id, updatePortInput({ port: body }), undefined, meta);
      counts.updated++;
    } else {
      const at = Math.floor(random() * live.length);
      const id = live[at];
      const last = live.pop();
      if (id === undefined || last === undefined) continue;
      if (at < live.length) live[at] = last;
      await commands.delete(id, meta);
      net.owner.delete(id);
      counts.deleted++;
    }
  }
}

/**
 * @param {EventStore} store
 * @param {LoadedNetwork[]} networks
 * @param {Options} opts
 * @param {import('@ncp/eventstore').SqlClient} prisma IPAM's Prisma client
 */
async function load(store, networks, opts, prisma) {
  // With IPAM's snapshots of the networks, in its database, as IPAM's write model keeps them
  // (every 500 events): after a restart IPAM loads a network from its latest snapshot.
  const repo = new AggregateRepository(store, networkDecider, { cacheSize: networks.length + 10, snapshots: new SqlSnapshotStore(prisma) });
  /** @type {Map<string, string>} */
  const owner = new Map();
  const commands = new PortCommands(
    { networks: repo, policies: { macPrefix: MAC_PREFIX } },
    {
      networkOfPort: async (/** @type {string} */ portId) => {
        const id = owner.get(portId);
        if (!id) throw new Error(`port ${portId} is not one of ours`);
        return id;
      },
    },
    benchSecurityGroups,
  );
  const counts = { created: 0, updated: 0, deleted: 0 };
  const t0 = performance.now();
  const progress = setInterval(() => console.log(`  loaded ${counts.created + counts.updated + counts.deleted}/${opts.events}`), 10_000);
  try {
    const random = prng(opts.seed);
    /** @param {number} i */
    const share = (i) => Math.floor(opts.events / networks.length) + (i < opts.events % networks.length ? 1 : 0);
    await Promise.all(networks.map((net, i) => loadNetwork({ ...net, owner }, commands, prng(Math.floor(random() * 2 ** 32)), share(i), opts.hosts, counts)));
  } finally {
    clearInterval(progress);
  }
  if (interrupted) throw new Error('interrupted');
  return { counts, seconds: (performance.now() - t0) / 1000 };
}

/**
 * For an IPAM without a desired-state snapshot: waits until its desired-state bucket has not
 * changed for 10 s (its fold has caught up and published everything). Returns the wait in ms.
 */
/**
 * @param {NatsConnection} nc
 * @param {Names} naming
 */
async function kvQuiet(nc, naming) {
  const jsm = await jetstreamManager(nc);
  const stream = `KV_${naming.bucket(DESIRED_STATE_BUCKET)}`;
  const t0 = performance.now();
  let last = -1;
  let since = performance.now();
  for (;;) {
    const seq = (await jsm.streams.info(stream)).state.last_seq;
    if (seq !== last) {
      last = seq;
      since = performance.now();
    } else if (performance.now() - since >= 10_000) return Math.round(performance.now() - t0);
    if (interrupted) throw new Error('interrupted');
    await sleep(1000);
  }
}

/**
 * IPAM's snapshot of its desired-state fold (sequence and size), if it has one.
 * @param {string} databaseUrl
 * @returns {Promise<{ sequence: number, bytes: number } | null>}
 */
async function desiredStateSnapshot(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT sequence::int AS sequence, length(state::text) AS bytes FROM ipam.aggregate_snapshots WHERE subject LIKE 'desired-state.%'`,
    );
    return rows[0] ?? null;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------- one restart

/**
 * kill -9, start again at once, and poll a write, a read and /healthz until each has answered
 * 2xx: milliseconds from the kill to each first 2xx (and to the first answer of any kind).
 */
/**
 * @param {IpamProcess} ipam
 * @param {LoadedNetwork} network
 * @param {Options} opts
 */
async function restart(ipam, network, opts) {
  await ipam.stop('SIGKILL');
  const caughtUpBefore = caughtUpLines;
  const t0 = performance.now();
  ipam.spawn();
  /** @type {Record<string, number>} ms from the kill */
  const at = {};
  /** @type {Record<string, Map<number, number>>} how often each status came back */
  const statuses = { write: new Map(), read: new Map() };
  /**
   * @param {string} name
   * @param {() => Promise<number>} request
   */
  const probe = async (name, request) => {
    while (!interrupted && performance.now() - t0 < 300_000) {
      const sent = performance.now();
      const s = await request();
      if (s !== 0 && at.answered === undefined) at.answered = performance.now() - t0;
      statuses[name]?.set(s, (statuses[name]?.get(s) ?? 0) + 1);
      if (s >= 200 && s < 300) {
        at[name] = performance.now() - t0;
        at[`${name}Latency`] = performance.now() - sent;
        return;
      }
      await sleep(POLL_MS);
    }
    throw new Error(`${name}: no 2xx within 300 s`);
  };
  await Promise.all([
    probe('write', () =>
      status(`${ipam.url}/v2.0/ports`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        // IPAM runs alone here: a port naming no groups needs no answer from the security groups service
        body: JSON.stringify({ port: { network_id: network.id, name: 'probe', security_groups: [] } }),
      }),
    ),
    probe('read', () => status(`${ipam.url}/v2.0/networks/${network.id}`)),
    probe('healthy', () => status(`${ipam.url}/healthz`)),
  ]);
  // the desired-state fold (in the background) has caught up and published: IPAM logs it
  if (opts.snapshot) await waitUntil('desired state caught up', async () => caughtUpLines > caughtUpBefore, 600_000, { pollMs: 50, stop: () => interrupted });
  if (opts.snapshot) at.desiredState = performance.now() - t0;
  /** @param {Map<number, number> | undefined} m */
  const fmt = (m = new Map()) => Object.fromEntries([...m.entries()].map(([k, v]) => [k === 0 ? 'no answer' : String(k), v]));
  return { ms: Object.fromEntries(Object.entries(at).map(([k, v]) => [k, Math.round(v)])), statuses: { write: fmt(statuses.write), read: fmt(statuses.read) } };
}

// ---------------------------------------------------------------------------- main

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const bench = await startIpamBench('restart', opts);
  const { result, infra, prefix, naming, database } = bench;
  /** @type {IpamProcess | undefined} */
  let ipam;
  /** @type {NatsConnection | undefined} */
  let nc;
  /** @type {{ $disconnect(): Promise<void> } | undefined} */
  let prisma;
  try {
    await deployIpamMigrations(database.url);
    const service = new IpamProcess(
      { DATABASE_URL: database.url, NATS_URL: infra.natsUrl, NATS_PREFIX: prefix, LOG_LEVEL: 'info', PORT: String(await freePort()) },
      countCaughtUp,
    );
    ipam = service;
    await service.start(() => interrupted);
    const bus = await connectNats(infra.natsUrl, `bench-restart-${prefix}`);
    nc = bus;
    const store = new JetStreamEventStore(bus, naming, new EventRegistry([...ipamEventDefinitions, ...agentEventDefinitions]));
    console.log(`ipam ${service.url}, database ${database.name}, stream ${naming.eventStream}`);

    const networks = await seed(service, store, naming, opts);
    console.log(`seeded ${networks.length} networks and ${opts.hosts} agents; loading ${opts.events} port events...`);
    const url = new URL(database.url);
    url.searchParams.set('schema', 'ipam');
    /** @type {import('@ncp/eventstore').SqlClient & { $disconnect(): Promise<void> }} */
    const client = createPrisma(url.toString());
    prisma = client;
    const loaded = await load(store, networks, opts, client);
    const t = performance.now();
    await caughtUp(bus, naming, store);
    const lastSequence = await store.streamLastSequence();
    /** @type {Record<string, number>} */
    const stream = { lastSequence, ...loaded.counts, loadSeconds: +loaded.seconds.toFixed(1), catchUpSeconds: +((performance.now() - t) / 1000).toFixed(1) };
    result.stream = stream;
    console.log(
      `stream at ${lastSequence} (${loaded.counts.created} created, ${loaded.counts.updated} updated, ${loaded.counts.deleted} deleted in ${stream.loadSeconds} s); IPAM's projection caught up`,
    );
    // IPAM's desired-state fold keeps a snapshot every 10,000 events once it has published
    // them: wait until it has one that recent (what a service that has been running holds).
    const settled = async () => {
      if (!opts.snapshot) return kvQuiet(bus, naming);
      const last = await store.streamLastSequence();
      const t0 = performance.now();
      await waitUntil(
        'desired-state snapshot within 10,000 events of the stream',
        async () => ((await desiredStateSnapshot(database.url).catch(() => null))?.sequence ?? 0) >= last - 10_000,
        1_800_000,
        { pollMs: 1000, stop: () => interrupted },
      );
      return Math.round(performance.now() - t0);
    };
    stream.desiredStateSettledMs = await settled();
    console.log(`IPAM's desired state settled ${stream.desiredStateSettledMs} ms after its projection`);

    /** @type {(Awaited<ReturnType<typeof restart>> & { snapshotBefore: { sequence: number, bytes: number } | null })[]} */
    const restarts = [];
    result.restarts = restarts;
    const probed = networks[0];
    if (!probed) throw new Error('no network to probe');
    for (let i = 1; i <= opts.restarts && !interrupted; i++) {
      const snapshot = await desiredStateSnapshot(database.url);
      const r = { ...(await restart(service, probed, opts)), snapshotBefore: snapshot };
      restarts.push(r);
      console.log(
        `restart ${i}: first answer ${r.ms.answered} ms, read 2xx ${r.ms.read} ms (that request ${r.ms.readLatency} ms), write 2xx ${r.ms.write} ms (${r.ms.writeLatency} ms), /healthz ${r.ms.healthy} ms, desired state caught up ${r.ms.desiredState} ms; write statuses ${JSON.stringify(r.statuses.write)}; desired-state snapshot before the kill: ${snapshot ? `#${snapshot.sequence}, ${snapshot.bytes} bytes` : 'none'}`,
      );
      await caughtUp(bus, naming, store);
      await settled();
    }
    /** @param {string} k */
    const sorted = (k) => restarts.flatMap((r) => r.ms[k] ?? []).sort((a, b) => a - b);
    /** @param {string} k */
    const figures = (k) => ({ median: percentile(sorted(k), 50), max: sorted(k).at(-1) });
    const summary = Object.fromEntries(['answered', 'read', 'write', 'healthy', ...(opts.snapshot ? ['desiredState'] : [])].map((k) => [k, figures(k)]));
    result.summary = summary;
    const startLines = service
      .logs()
      .split('\n')
      .filter((l) => /desired state|listening|error/i.test(l))
      .slice(-30);
    result.ipamStartLog = startLines;
    const read = figures('read');
    const write = figures('write');
    console.log(`kill -9 -> first 2xx (median / max over ${restarts.length}): read ${read.median} / ${read.max} ms, write ${write.median} / ${write.max} ms`);
  } catch (e) {
    if (ipam && !interrupted) console.error(`--- ipam output (last lines)\n${ipam.logs().split('\n').slice(-40).join('\n')}`);
    throw e;
  } finally {
    await cleanUpIpamBench(bench, ipam, [() => nc?.close(), () => prisma?.$disconnect()]);
  }
  saveResult(HERE, result);
}

main().catch((e) => {
  console.error(interrupted ? 'interrupted' : e);
  process.exit(interrupted ? 130 : 1);
});
