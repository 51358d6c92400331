#!/usr/bin/env node
// @ts-check
// IPAM port-allocation benchmark over the Neutron v2.0 HTTP API.
//
//   node bench/ipam/run.mjs [--ports N] [--concurrency C] [--url URL] [--cleanup] [--auth]
//
// One network, one /16 subnet, then N ports created one after another (phase 1) and N
// more by C concurrent clients (phase 2). Reports throughput and latency per phase, then
// lists the network's ports through the API and checks that no IP or MAC is handed out
// twice. Without --url it starts its own TestStack (built ipam + gateway, fresh Postgres
// database and NATS prefix) and tears it down afterwards. See README.md beside this file.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchUsage, flagOption, intOption, parseBenchOptions, textOption } from '../lib/options.mjs';
import { UNLIMITED_QUOTAS, errorText, percentile } from '../lib/stack-bench.mjs';
import { startCpuSampler } from './cpu-sampler.mjs';
import { enableServiceProfiles, profileByPackage, profilesWritten, toggleServiceProfiles } from '../lib/cpu-profile.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');

// ---------------------------------------------------------------------------- options

const COMMAND = 'node bench/ipam/run.mjs';
const OPTIONS = {
  ports: intOption('ports per phase', 5000, 1),
  concurrency: intOption('concurrent clients in phase 2', 8, 1),
  url: textOption('URL', 'benchmark an existing gateway instead of starting a TestStack', undefined),
  cidr: textOption('CIDR', 'subnet to create', '10.0.0.0/16'),
  cleanup: flagOption('with --url: delete the created ports, subnet and network afterwards'),
  profile: textOption(
    'DIR',
    "with the TestStack: write each service's CPU profile of each phase to DIR\n(<service>-1: sequential, -2: concurrent) and print where its time went",
    undefined,
  ),
  out: textOption('FILE', 'write the JSON report there instead of results/<timestamp>.json (bench/compare reads it)', undefined),
  direct: flagOption('with the TestStack: talk to ipam itself, bypassing the gateway\n(to see what the gateway hop costs)'),
  rebuild: flagOption(
    'with the TestStack: afterwards every service rebuilds its projections from the\nwhole stream, one service after another (events/s of each)',
  ),
  auth: flagOption(
    'with the TestStack: authentication on, against a real Keystone of its own\n(every request carries a token the services validate; what auth adds)',
  ),
};

/** @param {string[]} argv */
function parseOptions(argv) {
  const o = parseBenchOptions(argv, COMMAND, OPTIONS);
  if (o.auth && o.url) {
    console.error(`--auth needs the benchmark's own TestStack; it does not go with --url\n${benchUsage(COMMAND, OPTIONS)}`);
    process.exit(2);
  }
  if (o.profile && o.url) {
    console.error(`--profile needs the benchmark's own TestStack; it does not go with --url\n${benchUsage(COMMAND, OPTIONS)}`);
    process.exit(2);
  }
  if (o.rebuild && o.url) {
    console.error(`--rebuild needs the benchmark's own TestStack; it does not go with --url\n${benchUsage(COMMAND, OPTIONS)}`);
    process.exit(2);
  }
  if (o.direct && o.url) {
    console.error(`--direct needs the benchmark's own TestStack; it does not go with --url\n${benchUsage(COMMAND, OPTIONS)}`);
    process.exit(2);
  }
  return { ...o, url: o.url ? o.url.replace(/\/+$/, '') : null };
}

// ---------------------------------------------------------------------------- HTTP client

/**
 * @typedef {object} Client
 * @property {string} kind
 * @property {(method: string, pathAndQuery: string, body?: unknown) => Promise<{ status: number, text: string }>} call
 * @property {() => Promise<unknown>} close
 */

/**
 * A keep-alive client: undici's own request() on a connection pool when undici is in
 * node_modules, else Node's global fetch (which keeps connections alive too).
 * @param {string} baseUrl
 * @param {number} connections
 * @param {Record<string, string>} [extraHeaders] sent with every request (X-Auth-Token)
 * @returns {Promise<Client>}
 */
async function makeClient(baseUrl, connections, extraHeaders = {}) {
  let undici = null;
  try {
    undici = await import('undici');
  } catch {
    undici = null;
  }
  if (undici?.Agent && undici?.request) {
    const dispatcher = new undici.Agent({
      connections,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      pipelining: 1,
      headersTimeout: 180_000,
      bodyTimeout: 180_000,
    });
    let version = 'unknown';
    try {
      version = JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules/undici/package.json'), 'utf8')).version;
    } catch {
      /* informational only */
    }
    return {
      kind: `undici ${version} Agent (keep-alive, ${connections} connections)`,
      async call(method, pathAndQuery, body) {
        const res = await undici.request(`${baseUrl}${pathAndQuery}`, {
          method,
          dispatcher,
          headers: {
            ...extraHeaders,
            ...(body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.body.text();
        return { status: res.statusCode, text };
      },
      close: () => dispatcher.close(),
    };
  }
  return {
    kind: 'global fetch (Node built-in keep-alive)',
    async call(method, pathAndQuery, body) {
      const res = await fetch(`${baseUrl}${pathAndQuery}`, {
        method,
        headers: {
          ...extraHeaders,
          ...(body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, text: await res.text() };
    },
    close: async () => undefined,
  };
}

/**
 * @param {string} text
 * @returns {any} Neutron's JSON, or null
 */
function parseJson(text) {
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * @param {Client} client
 * @param {string} method
 * @param {string} p
 * @param {unknown} body
 * @param {number} status the answer's status it must be
 */
async function expect(client, method, p, body, status) {
  const res = await client.call(method, p, body);
  if (res.status !== status) throw new Error(`${method} ${p} answered ${res.status} (expected ${status}): ${res.text.slice(0, 500)}`);
  return parseJson(res.text);
}

// ---------------------------------------------------------------------------- stats

/**
 * @param {number | null | undefined} x
 * @returns {number | null}
 */
const round = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/**
 * One POST of a port: in completion order, when it started (ms into the phase), how long it took.
 * @typedef {{ n: number, startedMs: number, ms: number, status: number, id?: string, mac?: string, ips?: string[] }} PortResult
 */

/**
 * @param {string} name
 * @param {number} clients
 * @param {PortResult[]} results
 * @param {number} wallMs
 */
function summarize(name, clients, results, wallMs) {
  const lat = results.map((r) => r.ms).sort((a, b) => a - b);
  const ok = results.filter((r) => r.status === 201).length;
  const errors = results.length - ok;
  /** @type {Record<number, number>} */
  const byStatus = {};
  for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return {
    phase: name,
    clients,
    count: results.length,
    created: ok,
    errors,
    status_counts: byStatus,
    wall_s: round(wallMs / 1000, 3),
    ports_per_s: round(ok / (wallMs / 1000), 1),
    // How latency moves as the network fills up, and where the worst requests fell
    // (n = completion order in the phase, at_s = when the request started).
    latency_by_tenth_ms: tenths(results),
    slowest: [...results]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 10)
      .map((r) => ({ n: r.n, at_s: round(r.startedMs / 1000, 2), ms: round(r.ms) })),
    latency_ms: {
      min: round(lat[0]),
      mean: round(lat.reduce((a, b) => a + b, 0) / (lat.length || 1)),
      p50: round(percentile(lat, 50)),
      p90: round(percentile(lat, 90)),
      p99: round(percentile(lat, 99)),
      max: round(lat[lat.length - 1]),
    },
  };
}

/** @param {PortResult[]} results */
function tenths(results) {
  const out = [];
  const size = Math.ceil(results.length / 10);
  for (let i = 0; i < results.length; i += size) {
    const lat = results
      .slice(i, i + size)
      .map((r) => r.ms)
      .sort((a, b) => a - b);
    out.push({ from: i + 1, to: i + lat.length, p50: round(percentile(lat, 50)), p99: round(percentile(lat, 99)), max: round(lat[lat.length - 1]) });
  }
  return out;
}

// ---------------------------------------------------------------------------- the benchmark

/**
 * @param {string} label
 * @param {number} done
 * @param {number} total
 * @param {number} startedAt
 */
function progress(label, done, total, startedAt) {
  const s = (performance.now() - startedAt) / 1000;
  process.stderr.write(`  ${label}: ${done}/${total} in ${s.toFixed(1)} s (${(done / s).toFixed(1)}/s)\n`);
}

/** @typedef {{ phase: string, status: number, body: string }} ErrorSample */

/**
 * Creates `total` ports on the network with `clients` async loops; returns per-request results.
 * @param {Client} client
 * @param {string} networkId
 * @param {number} total
 * @param {number} clients
 * @param {string} label
 * @param {ErrorSample[]} sampleErrors
 */
async function createPorts(client, networkId, total, clients, label, sampleErrors) {
  /** @type {PortResult[]} */
  const results = [];
  let next = 0;
  let done = 0;
  const startedAt = performance.now();
  const every = Math.max(500, Math.ceil(total / 10));
  const body = { port: { network_id: networkId } };
  const loop = async () => {
    while (next < total) {
      next++;
      const t0 = performance.now();
      let status = 0;
      let text = '';
      try {
        ({ status, text } = await client.call('POST', '/v2.0/ports', body));
      } catch (e) {
        text = `transport error: ${e instanceof Error && e.cause instanceof Error ? e.cause.message : errorText(e)}`;
      }
      const ms = performance.now() - t0;
      /** @type {PortResult} */
      const r = { n: results.length + 1, startedMs: t0 - startedAt, ms, status };
      if (status === 201) {
        const port = parseJson(text)?.port;
        r.id = port?.id;
        r.mac = port?.mac_address;
        r.ips = (port?.fixed_ips ?? []).map((/** @type {{ ip_address: string }} */ f) => f.ip_address);
      } else if (sampleErrors.length < 10) {
        sampleErrors.push({ phase: label, status, body: text.slice(0, 500) });
      }
      results.push(r);
      done++;
      if (done % every === 0 && done < total) progress(label, done, total, startedAt);
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return { results, wallMs: performance.now() - startedAt };
}

/** @typedef {{ id: string, mac_address?: string, fixed_ips?: { ip_address: string }[] }} ListedPort */

/**
 * Every port of the network through the API, following pagination links if the server pages.
 * @param {Client} client
 * @param {string} networkId
 */
async function listPorts(client, networkId) {
  /** @type {ListedPort[]} */
  const ports = [];
  let pathAndQuery = `/v2.0/ports?network_id=${encodeURIComponent(networkId)}&fields=id&fields=fixed_ips&fields=mac_address`;
  let pages = 0;
  for (;;) {
    const doc = await expect(client, 'GET', pathAndQuery, undefined, 200);
    pages++;
    ports.push(...(doc?.ports ?? []));
    const next = (doc?.ports_links ?? []).find((/** @type {{ rel: string }} */ l) => l.rel === 'next');
    if (!next || (doc?.ports ?? []).length === 0) break;
    const u = new URL(next.href);
    pathAndQuery = `${u.pathname}${u.search}`;
    if (pages > 10_000) throw new Error('too many pages while listing ports');
  }
  return { ports, pages };
}

/** @param {readonly string[]} values */
function countDuplicates(values) {
  /** @type {Map<string, number>} */
  const seen = new Map();
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
  const dups = [...seen.entries()].filter(([, n]) => n > 1);
  return { duplicates: dups.reduce((a, [, n]) => a + n - 1, 0), examples: dups.slice(0, 5).map(([v, n]) => `${v} x${n}`) };
}

/**
 * @param {PortResult[]} created
 * @param {ListedPort[]} listed
 */
function verify(created, listed) {
  const listedIps = listed.flatMap((p) => (p.fixed_ips ?? []).map((f) => f.ip_address));
  const listedMacs = listed.flatMap((p) => (p.mac_address === undefined ? [] : [p.mac_address]));
  const ipDup = countDuplicates(listedIps);
  const macDup = countDuplicates(listedMacs);
  const idDup = countDuplicates(listed.map((p) => p.id));
  const createdIps = created.flatMap((r) => r.ips ?? []);
  const createdIpDup = countDuplicates(createdIps);
  const createdMacDup = countDuplicates(created.flatMap((r) => (r.mac === undefined ? [] : [r.mac])));

  // Each IP a create returned must appear exactly once in the listing, on the same port.
  const listedIpCount = new Map();
  const portOfListedIp = new Map();
  for (const p of listed) {
    for (const f of p.fixed_ips ?? []) {
      listedIpCount.set(f.ip_address, (listedIpCount.get(f.ip_address) ?? 0) + 1);
      portOfListedIp.set(f.ip_address, p.id);
    }
  }
  let missing = 0;
  let notExactlyOnce = 0;
  let onOtherPort = 0;
  const examples = [];
  for (const r of created) {
    for (const ip of r.ips ?? []) {
      const n = listedIpCount.get(ip) ?? 0;
      if (n === 0) missing++;
      else if (n > 1) notExactlyOnce++;
      else if (portOfListedIp.get(ip) !== r.id) onOtherPort++;
      if ((n !== 1 || portOfListedIp.get(ip) !== r.id) && examples.length < 5) examples.push(`${ip} (created on ${r.id}) listed ${n}x`);
    }
  }
  const createdWithoutIp = created.filter((r) => (r.ips ?? []).length === 0).length;
  return {
    listed_ports: listed.length,
    created_ports: created.length,
    count_matches: listed.length === created.length,
    listed_ips: listedIps.length,
    duplicate_ips: ipDup.duplicates,
    duplicate_ip_examples: ipDup.examples,
    duplicate_macs: macDup.duplicates,
    duplicate_mac_examples: macDup.examples,
    duplicate_port_ids: idDup.duplicates,
    duplicate_ips_in_create_responses: createdIpDup.duplicates,
    duplicate_macs_in_create_responses: createdMacDup.duplicates,
    created_ports_without_ip: createdWithoutIp,
    created_ips_missing_from_list: missing,
    created_ips_listed_more_than_once: notExactlyOnce,
    created_ips_listed_on_other_port: onOtherPort,
    created_ip_mismatch_examples: examples,
  };
}

function machineInfo() {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() ?? 'unknown CPU';
  const memGiB = os.totalmem() / 1024 ** 3;
  return {
    specs: `${model} x ${cpus.length}, ${memGiB.toFixed(1)} GiB RAM`,
    cpu_model: model,
    cpu_count: cpus.length,
    total_memory_bytes: os.totalmem(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadavg_at_start: os.loadavg().map((x) => round(x, 2)),
  };
}

/**
 * Newest file time under a dist folder: which build of a service was measured.
 * @param {string} rel
 */
function distBuiltAt(rel) {
  let newest = 0;
  /** @param {string} dir */
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  try {
    walk(path.join(REPO_ROOT, rel));
    return newest ? new Date(newest).toISOString() : null;
  } catch {
    return null;
  }
}

function gitInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'apps', 'packages'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
    return { commit, apps_or_packages_dirty: dirty };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------- output

/**
 * @param {string | number | boolean | null | undefined} value
 * @param {number} n
 */
function pad(value, n, right = false) {
  const s = String(value ?? '-');
  return right ? s.padStart(n) : s.padEnd(n);
}

/** @param {any} report what main() writes as JSON (this prints it for people) */
function printReport(report) {
  const lines = [];
  lines.push('');
  lines.push(`IPAM port allocation benchmark  ${report.started_at}`);
  lines.push(`machine : ${report.machine.specs}; ${report.machine.platform}; node ${report.machine.node}`);
  if (report.git)
    lines.push(
      `code    : ${report.git.commit.slice(0, 12)}${report.git.apps_or_packages_dirty ? ' + uncommitted changes in apps/ or packages/' : ''}${report.build ? `; ipam dist built ${report.build.ipam_dist_built_at}` : ''}`,
    );
  lines.push(`target  : ${report.target.mode} ${report.target.url}; client: ${report.target.http_client}`);
  lines.push(`network : ${report.setup.network_id}, subnet ${report.setup.cidr} (${report.setup.subnet_id})`);
  lines.push('');
  /** @type {[string, number, boolean?][]} */
  const cols = [
    ['phase', 12],
    ['clients', 7, true],
    ['count', 6, true],
    ['errors', 6, true],
    ['wall s', 8, true],
    ['ports/s', 8, true],
    ['p50 ms', 8, true],
    ['p90 ms', 8, true],
    ['p99 ms', 8, true],
    ['max ms', 8, true],
  ];
  lines.push(cols.map(([h, n, r]) => pad(h, n, r)).join('  '));
  lines.push(cols.map(([, n]) => '-'.repeat(n)).join('  '));
  for (const p of report.phases) {
    const row = [
      p.phase,
      p.clients,
      p.count,
      p.errors,
      p.wall_s.toFixed(2),
      p.ports_per_s.toFixed(1),
      p.latency_ms.p50,
      p.latency_ms.p90,
      p.latency_ms.p99,
      p.latency_ms.max,
    ];
    lines.push(row.map((v, i) => pad(typeof v === 'number' && i >= 6 ? v.toFixed(1) : v, cols[i]?.[1] ?? 0, cols[i]?.[2])).join('  '));
  }
  lines.push('');
  const v = report.verification;
  lines.push(
    `verification: listed ${v.listed_ports} ports (${report.listing.pages} page(s), ${report.listing.ms} ms) vs ${v.created_ports} created -> ${v.count_matches ? 'match' : 'MISMATCH'}`,
  );
  lines.push(`  duplicate IPs: ${v.duplicate_ips}   duplicate MACs: ${v.duplicate_macs}   duplicate port ids: ${v.duplicate_port_ids}`);
  lines.push(
    `  created IPs: ${v.created_ips_missing_from_list} missing from list, ${v.created_ips_listed_more_than_once} listed >1x, ${v.created_ips_listed_on_other_port} on another port; ` +
      `${v.duplicate_ips_in_create_responses} duplicate IPs / ${v.duplicate_macs_in_create_responses} duplicate MACs across create responses`,
  );
  if (v.duplicate_ip_examples.length) lines.push(`  e.g. ${v.duplicate_ip_examples.join(', ')}`);
  if (v.created_ip_mismatch_examples.length) lines.push(`  e.g. ${v.created_ip_mismatch_examples.join(', ')}`);
  if (report.error_samples.length) {
    lines.push('error samples:');
    for (const e of report.error_samples.slice(0, 5)) lines.push(`  [${e.phase}] ${e.status}: ${e.body}`);
  }
  lines.push('');
  lines.push('CPU during each phase, % of one core (the services and the bench client by pid, others grouped by command):');
  for (const p of report.phases) {
    const c = report.cpu[p.phase];
    if (!c) continue;
    const parts = Object.entries(c.pct_of_one_core).map(([name, v]) => `${name} ${v}%`);
    lines.push(`  ${pad(p.phase, 11)} ${parts.join(', ')}`);
    const m = c.machine_pct_of_all_cores;
    const per = Object.entries(c.cpu_ms_per_port ?? {}).map(([k, v]) => `${k} ${v}`);
    if (per.length) lines.push(`  ${pad('', 11)} CPU ms per port: ${per.join(', ')}`);
    const ps = c.per_second;
    if (ps?.ipam)
      lines.push(
        `  ${pad('', 11)} per second: ipam p50 ${ps.ipam.p50}% / max ${ps.ipam.max}% of a core; machine busy p50 ${ps.machine_busy?.p50}% / max ${ps.machine_busy?.max}% of all cores`,
      );
    if (c.other_load_pct_of_one_core >= 10)
      lines.push(`  ${pad('', 11)} WARNING: other work on the machine used ~${c.other_load_pct_of_one_core}% of a core meanwhile; figures are perturbed`);
    if (m)
      lines.push(
        `  ${pad('', 11)} machine (${report.machine.cpu_count} cores): busy ${m.busy_pct}% = user ${m.user_pct}% + system ${m.system_pct}% + irq ${m.irq_pct}% + steal ${m.steal_pct}%; iowait ${m.iowait_pct}%`,
      );
  }
  if (report.rebuilds) {
    lines.push('');
    lines.push(`projection rebuilds, every service in turn, over the stream's ${report.rebuilds.events} events (each of its projections reads all):`);
    for (const r of report.rebuilds.services)
      lines.push(
        `  ${r.context.padEnd(5)} ${String(r.ms).padStart(7)} ms  ${String(r.stream_events_per_s).padStart(7)} stream events/s  (${r.projections.join(', ')})`,
      );
  }
  lines.push('');
  lines.push(`result: ${report.ok ? 'PASS' : 'FAIL'}${report.failures.length ? ` (${report.failures.join('; ')})` : ''}`);
  if (report.profiles) {
    lines.push('');
    lines.push(`CPU profiles in ${report.profiles.dir}; % of each service's samples, by where the code came from:`);
    for (const [phase, services] of Object.entries(report.profiles.by_package_pct)) {
      for (const [service, shares] of Object.entries(services)) {
        lines.push(`  ${phase.padEnd(10)} ${service.padEnd(9)} ${shares.map((/** @type {[string, number]} */ [what, pct]) => `${what} ${pct}`).join(', ')}`);
      }
    }
  }
  lines.push(`json  : ${report.json_path}`);
  console.log(lines.join('\n'));
}

// ---------------------------------------------------------------------------- rebuilds

/** The services' contexts, as their admin subjects name them. */
const CONTEXTS = ['ipam', 'l3', 'dhcp', 'bgp', 'meta', 'sg'];

/**
 * Asks each service in turn to rebuild its projections (`admin.<context>.projection_rebuild`,
 * as `netctl projections rebuild` does) and times it by the service's own clock. Each of a
 * service's projections reads the whole stream.
 * @param {import('@ncp/testing').TestStack} stack
 */
async function rebuildEveryService(stack) {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { Naming } = await import('@ncp/contracts');
  const naming = new Naming({ prefix: stack.prefix });
  const nc = await connect({ servers: stack.natsUrl.replace(/^nats:\/\//, '') });
  try {
    const events = (await (await jetstreamManager(nc)).streams.info(`EVENTS_${stack.prefix}`)).state.last_seq;
    const rebuilt = [];
    for (const context of CONTEXTS) {
      process.stderr.write(`rebuilding ${context}'s projections from ${events} events...\n`);
      const msg = await nc.request(naming.adminSubject(context, 'projection_rebuild'), '{}', { timeout: 30 * 60_000 });
      const body = /** @type {{ result?: { durationMs: number, projections: { name: string, checkpoint: number }[] }, error?: { message: string } }} */ (
        JSON.parse(msg.string())
      );
      if (!body.result) throw new Error(`admin.${context}.projection_rebuild: ${body.error?.message ?? 'no result'}`);
      const { durationMs, projections } = body.result;
      rebuilt.push({
        context,
        projections: projections.map((p) => p.name),
        ms: durationMs,
        stream_events_per_s: Math.round(events / (durationMs / 1000)),
      });
    }
    return { events, services: rebuilt };
  } finally {
    await nc.close();
  }
}

// ---------------------------------------------------------------------------- main

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const machine = machineInfo();
  // What code is measured, read before the run (others may commit or rebuild meanwhile).
  const git = gitInfo();
  const build = { ipam_dist_built_at: distBuiltAt('apps/ipam/dist'), gateway_dist_built_at: distBuiltAt('apps/gateway/dist') };
  /** @type {import('@ncp/testing').TestStack | null} */
  let stack = null;
  let baseUrl = opts.url;
  /** @type {Record<string, number | undefined>} */
  const pids = {};
  /** @type {string | null} */
  let dbName = null;

  /** @type {import('@ncp/testing').TestKeystone | null} */
  let keystone = null;
  /** @type {Record<string, string>} */
  const authHeaders = {};

  const stopStack = async () => {
    const s = stack;
    stack = null;
    if (s) {
      process.stderr.write('stopping TestStack (dropping database, deleting stream)...\n');
      await s.stop().catch((e) => process.stderr.write(`TestStack.stop failed: ${errorText(e)}\n`));
    }
    const k = keystone;
    keystone = null;
    await k?.stop().catch((e) => process.stderr.write(`Keystone stop failed: ${errorText(e)}\n`));
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: cleaning up\n`);
      void stopStack().finally(() => process.exit(130));
    });
  }

  try {
    if (!baseUrl) {
      process.stderr.write('starting TestStack (built ipam + gateway, fresh database and NATS prefix)...\n');
      if (opts.profile) {
        mkdirSync(opts.profile, { recursive: true });
        enableServiceProfiles(path.resolve(opts.profile));
      }
      const testing = await import('@ncp/testing');
      const TestStack = testing.TestStack;
      if (!TestStack) throw new Error('@ncp/testing does not export TestStack; run `npx turbo run build`');
      const t0 = performance.now();
      if (opts.auth) {
        process.stderr.write('starting Keystone (Debian python3-keystone, a database of its own)...\n');
        keystone = await testing.TestKeystone.start();
        authHeaders['x-auth-token'] = await keystone.token(keystone.admin);
      }
      const started = await TestStack.start(keystone ? keystone.stackOptions(UNLIMITED_QUOTAS) : { env: UNLIMITED_QUOTAS });
      stack = started;
      baseUrl = opts.direct ? started.ipamUrl : started.url;
      // TestStack keeps its child processes in (TypeScript-)private fields; read for CPU accounting only.
      const internals = /** @type {{ services?: Record<string, { child?: { pid?: number } }>, database?: { name?: string } }} */ (
        /** @type {unknown} */ (started)
      );
      for (const [name, service] of Object.entries(internals.services ?? {})) if (service.child?.pid) pids[name] = service.child.pid;
      dbName = internals.database?.name ?? null;
      process.stderr.write(
        `  up in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${baseUrl} (ipam pid ${pids.ipam ?? null}, gateway pid ${pids.gateway ?? null}, database ${dbName}, NATS prefix ${started.prefix})\n`,
      );
    }

    const client = await makeClient(baseUrl, Math.max(opts.concurrency, 1) + 2, authHeaders);
    const suffix = startedAt.toISOString().replace(/[:.]/g, '-');
    const network = (await expect(client, 'POST', '/v2.0/networks', { network: { name: `bench-ipam-${suffix}` } }, 201)).network;
    const subnet = (
      await expect(client, 'POST', '/v2.0/subnets', { subnet: { network_id: network.id, ip_version: 4, cidr: opts.cidr, name: `bench-ipam-${suffix}` } }, 201)
    ).subnet;
    process.stderr.write(
      `network ${network.id}, subnet ${subnet.id} ${subnet.cidr}; ${opts.ports} sequential + ${opts.ports} with ${opts.concurrency} clients\n`,
    );

    /** @type {ErrorSample[]} */
    const errorSamples = [];
    const phases = [];
    /** @type {Record<string, any>} the sampler's figures (JSON) */
    const cpu = {};
    /** @type {PortResult[]} */
    const created = [];
    /** @type {Record<string, Record<string, [string, number][]>>} per phase, per service: % of its samples by package */
    const profiles = {};
    for (const [name, clients] of /** @type {const} */ ([
      ['sequential', 1],
      [`concurrent`, opts.concurrency],
    ])) {
      process.stderr.write(`phase ${name} (${clients} client${clients === 1 ? '' : 's'})...\n`);
      const sampler = await startCpuSampler({ 'bench client': process.pid, ...pids }, dbName);
      if (opts.profile) toggleServiceProfiles(pids);
      const { results, wallMs } = await createPorts(client, network.id, opts.ports, clients, name, errorSamples);
      cpu[name] = await sampler.stop();
      if (opts.profile) {
        toggleServiceProfiles(pids);
        const files = await profilesWritten(path.resolve(opts.profile), Object.keys(pids), Object.keys(profiles).length + 1);
        profiles[name] = Object.fromEntries(files.map((f) => [path.basename(f).replace(/-\d+\.cpuprofile$/, ''), profileByPackage(f).slice(0, 6)]));
      }
      if (cpu[name]) {
        // CPU time each part of the system spent per created port.
        const created = results.filter((r) => r.status === 201).length || 1;
        cpu[name].cpu_ms_per_port = Object.fromEntries(
          Object.entries(cpu[name].pct_of_one_core)
            .filter(([k]) => ['bench client', ...Object.keys(pids), 'postgres (bench db)', 'postgres (backends)', 'nats-server'].includes(k))
            .map(([k, v]) => [k, round(((Number(v) / 100) * cpu[name].wall_s * 1000) / created, 2)]),
        );
      }
      const summary = summarize(name, clients, results, wallMs);
      phases.push(summary);
      created.push(...results.filter((r) => r.status === 201));
      process.stderr.write(
        `  done: ${summary.created} created, ${summary.errors} errors, ${summary.ports_per_s} ports/s, p50 ${summary.latency_ms.p50} ms, p99 ${summary.latency_ms.p99} ms\n`,
      );
    }

    process.stderr.write('listing ports and checking for duplicates...\n');
    const tList = performance.now();
    const { ports: listed, pages } = await listPorts(client, network.id);
    const listMs = performance.now() - tList;
    const verification = verify(created, listed);

    const failures = [];
    const totalErrors = phases.reduce((a, p) => a + p.errors, 0);
    if (totalErrors > 0) failures.push(`${totalErrors} failed requests`);
    if (verification.duplicate_ips > 0) failures.push(`${verification.duplicate_ips} duplicate IPs`);
    if (verification.duplicate_macs > 0) failures.push(`${verification.duplicate_macs} duplicate MACs`);
    if (verification.duplicate_port_ids > 0) failures.push(`${verification.duplicate_port_ids} duplicate port ids`);
    if (verification.duplicate_ips_in_create_responses > 0)
      failures.push(`${verification.duplicate_ips_in_create_responses} duplicate IPs across create responses`);
    if (verification.duplicate_macs_in_create_responses > 0)
      failures.push(`${verification.duplicate_macs_in_create_responses} duplicate MACs across create responses`);
    if (!verification.count_matches) failures.push(`listed ${verification.listed_ports} ports, created ${verification.created_ports}`);
    if (verification.created_ports_without_ip > 0) failures.push(`${verification.created_ports_without_ip} created ports without an IP`);
    const mismatched =
      verification.created_ips_missing_from_list + verification.created_ips_listed_more_than_once + verification.created_ips_listed_on_other_port;
    if (mismatched > 0) failures.push(`${mismatched} created IPs not listed exactly once on their port`);

    const rebuilds = stack && opts.rebuild ? await rebuildEveryService(stack) : null;

    let cleanup = null;
    if (opts.url && opts.cleanup) {
      process.stderr.write(`cleanup: deleting ${listed.length} ports, the subnet and the network...\n`);
      let i = 0;
      let failed = 0;
      await Promise.all(
        Array.from({ length: opts.concurrency }, async () => {
          while (i < listed.length) {
            const p = listed[i++];
            if (!p) break;
            const res = await client.call('DELETE', `/v2.0/ports/${p.id}`).catch(() => ({ status: 0 }));
            if (res.status !== 204) failed++;
          }
        }),
      );
      const s = await client.call('DELETE', `/v2.0/subnets/${subnet.id}`).catch(() => ({ status: 0 }));
      const n = await client.call('DELETE', `/v2.0/networks/${network.id}`).catch(() => ({ status: 0 }));
      cleanup = { port_delete_failures: failed, subnet_status: s.status, network_status: n.status };
    }

    await client.close();

    const resultsDir = path.join(HERE, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const jsonPath = opts.out ? path.resolve(opts.out) : path.join(resultsDir, `${startedAt.toISOString().replace(/:/g, '-')}.json`);
    const report = {
      benchmark: 'ipam-port-allocation',
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      ok: failures.length === 0,
      failures,
      options: opts,
      machine,
      git,
      build: opts.url ? null : build,
      target: {
        mode: opts.url ? 'existing gateway (--url)' : opts.direct ? 'TestStack, ipam directly (--direct, no gateway)' : 'TestStack via gateway',
        authentication: opts.auth ? 'Keystone tokens (AUTH_STRATEGY=keystone, warm cache after the first request)' : 'none (AUTH_STRATEGY=noauth)',
        url: opts.url ?? baseUrl,
        http_client: client.kind,
      },
      stack: stack ? { database: dbName, nats_prefix: stack.prefix, ipam_pid: pids.ipam, gateway_pid: pids.gateway } : null,
      setup: { network_id: network.id, subnet_id: subnet.id, cidr: subnet.cidr ?? opts.cidr },
      phases,
      cpu,
      profiles: opts.profile ? { dir: path.resolve(opts.profile), by_package_pct: profiles } : null,
      listing: { pages, ms: round(listMs, 1) },
      verification,
      rebuilds,
      error_samples: errorSamples,
      cleanup,
      json_path: path.relative(REPO_ROOT, jsonPath),
    };
    writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    printReport(report);
    return report.ok ? 0 : 1;
  } catch (e) {
    if (stack)
      process.stderr.write(
        `--- ipam output (last lines) ---\n${stack.logs('ipam').slice(-4000)}\n--- gateway output (last lines) ---\n${stack.logs('gateway').slice(-2000)}\n`,
      );
    throw e;
  } finally {
    await stopStack();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
