// @ts-check
// What the benchmarks that drive a TestStack through the gateway share.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The services' environment without quota limits: a benchmark creates thousands of ports (the
 * default limit is Neutron's 500) and a hundred routers (10); what it measures is the work,
 * quota accounting included, not the refusals.
 * @type {Readonly<Record<string, string>>}
 */
export const UNLIMITED_QUOTAS = Object.fromEntries(
  ['NETWORK', 'SUBNET', 'PORT', 'ROUTER', 'FLOATINGIP', 'SECURITY_GROUP', 'SECURITY_GROUP_RULE', 'SUBNETPOOL'].map((kind) => [`QUOTA_${kind}`, '-1']),
);

/**
 * The p-th percentile of an ascending array (nearest rank).
 * @param {readonly number[]} sorted
 * @param {number} p
 * @returns {number}
 */
export function percentile(sorted, p) {
  const value = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  if (value === undefined) throw new Error('a percentile of no samples');
  return value;
}

/** @typedef {{ count: number, p50: number, p90: number, p99: number, max: number }} LatencySummary */

/**
 * Count, percentiles and maximum of latencies in ms, to a tenth of a ms.
 * @param {readonly number[]} samples
 * @returns {LatencySummary}
 */
export function latencySummary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  /** @param {number} p */
  const at = (p) => +percentile(sorted, p).toFixed(1);
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: at(100) };
}

/**
 * One call to the Neutron API of the stack; throws on any non-2xx answer.
 * @param {{ url: string }} stack
 * @param {string} method
 * @param {string} urlPath
 * @param {unknown} [body]
 * @returns {Promise<any>} the parsed JSON answer (`{}` for none): Neutron's shapes, as the caller knows them
 */
export async function api(stack, method, urlPath, body) {
  const res = await fetch(`${stack.url}${urlPath}`, {
    method,
    // the operator and the compute layer at once: binding:profile is the service role's (Neutron's policy)
    headers: { 'Content-Type': 'application/json', 'X-Roles': 'admin,member,service' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
  return text === '' ? {} : JSON.parse(text);
}

/**
 * Polls `check` until it is true; `stop()` true aborts (Ctrl-C).
 * @param {string} what
 * @param {() => boolean | Promise<boolean>} check
 * @param {number} timeoutMs
 * @param {{ pollMs?: number, stop?: () => boolean }} [options]
 */
export async function waitUntil(what, check, timeoutMs, { pollMs = 50, stop = () => false } = {}) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (stop()) throw new Error('interrupted');
    if (performance.now() > deadline) throw new Error(`${what}: timed out`);
    await sleep(pollMs);
  }
}

/**
 * What a caught error says.
 * @param {unknown} e
 */
export const errorText = (e) => (e instanceof Error ? e.message : String(e));

/** `<cpu model> x <cores>, <memory> GiB` */
export function machineSummary() {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? '?'} x ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
}

/** A benchmark's result: when, on what, and the figures it measured (written as JSON). */
/** @typedef {{ at: string, machine: string, [figure: string]: unknown }} BenchResult */

/**
 * Writes `<dir>/results/<timestamp>.json` and returns its path.
 * @param {string} dir
 * @param {{ at: string }} result
 */
export function writeResult(dir, result) {
  mkdirSync(path.join(dir, 'results'), { recursive: true });
  const file = path.join(dir, 'results', `${result.at.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/**
 * Writes the result (see writeResult) and says where, and on what machine.
 * @param {string} dir
 * @param {{ at: string, machine: string }} result
 */
export function saveResult(dir, result) {
  const file = writeResult(dir, result);
  console.log(`machine: ${result.machine}\njson: ${path.relative(process.cwd(), file)}`);
}

/**
 * `p50 .. ms, p90 .. ms, p99 .. ms, max .. ms`
 * @param {LatencySummary} s
 */
export const latencyLine = (s) => `p50 ${s.p50} ms, p90 ${s.p90} ms, p99 ${s.p99} ms, max ${s.max} ms`;

/**
 * With BENCH_AGENT_LOG set, prints the agent's last 12 "reconciled" log lines (what took the time).
 * @param {{ logs(): string }} agent
 */
export function printReconciledLog(agent) {
  if (!process.env.BENCH_AGENT_LOG) return;
  console.log(
    agent
      .logs()
      .split('\n')
      .filter((l) => l.includes('reconciled'))
      .slice(-12)
      .join('\n'),
  );
}

/**
 * Runs a benchmark's main; a failure is printed and exits 1.
 * @param {() => Promise<void>} main
 */
export function runBench(main) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

/**
 * The namespaces of a benchmark of one agent: its host `bh`, joined by a veth pair (both ends
 * up) to a namespace `peer`, and `workloads` namespaces w0, w1, ... for its ports, which the
 * agent creates and topo.destroy() removes.
 * @param {import('@ncp/testing').Topology} topo
 * @param {{ peer: string, hostLink: string, peerLink: string, workloads: number }} options the peer and the veth ends' names
 */
export async function agentHostTopology(topo, { peer: peerName, hostLink, peerLink, workloads: count }) {
  const host = await topo.addNetns('bh');
  const peer = await topo.addNetns(peerName);
  await topo.addVethPair(host, hostLink, peer, peerLink);
  await topo.linkUp(host, hostLink);
  await topo.linkUp(peer, peerLink);
  const workloads = Array.from({ length: count }, (_, i) => topo.ns(`w${i}`));
  for (const w of workloads) topo.adopt(w);
  return { host, peer, workloads };
}
