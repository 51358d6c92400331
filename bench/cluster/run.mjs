#!/usr/bin/env node
// @ts-check
// Control-plane HA benchmark: the same API load on one NATS server with one process of every
// service and one gateway, then on a three-node NATS cluster (stream and buckets at three
// replicas) with two replicas of every service and two gateways; then, under that load, the
// faults of the fault scenario in turn (kill -9 of a NATS server, of each service's leading
// replica, of a gateway; each started again).
//
//   node bench/cluster/run.mjs [--seconds 60] [--clients 8]
//
// Everything runs as local processes (nats-server from Debian's package, the built services)
// against a fresh database each. See README.md beside this file.

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NatsCluster, REPLICATED_BACKENDS, ReplicatedStack } from '@ncp/testing';
import { flagOption, intOption, parseBenchOptions } from '../lib/options.mjs';
import { UNLIMITED_QUOTAS, api, latencyLine, latencySummary, machineSummary, runBench, saveResult } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const COMMAND = 'node bench/cluster/run.mjs';
const OPTIONS = {
  seconds: intOption('seconds of load per configuration', 60, 5),
  clients: intOption('concurrent API clients', 8, 1),
  'fault-seconds': intOption('seconds of load after each kill (the restart follows)', 10, 3),
  nodes: intOption('NATS servers of the clustered configuration', 3, 1),
  replicas: intOption('processes of every service in the clustered configuration', 2, 1),
  gateways: intOption('gateways of the clustered configuration', 2, 1),
  'no-faults': flagOption('measure the throughput only, no faults'),
};

/** Goals of issue 19. */
const GOALS = { unavailabilityMs: 5000, throughputRatio: 0.7 };

/**
 * Clients creating ports through the gateways for as long as `load.running`: each goes to the
 * next gateway when one refuses (a load balancer's part). Successes are stamped, so gaps can
 * be measured afterwards over any window.
 */
class Load {
  /** @param {string[]} gateways @param {string} network @param {number} clients */
  constructor(gateways, network, clients) {
    this.gateways = gateways;
    this.network = network;
    this.clients = clients;
    this.running = true;
    /** @type {{ at: number, ms: number, client: number }[]} */
    this.successes = [];
    /** @type {{ at: number, what: string }[]} */
    this.failures = [];
    /** @type {string[]} ids of acknowledged ports */
    this.acked = [];
    /** @type {Promise<void>[]} */
    this.loops = [];
  }

  start() {
    this.loops = Array.from({ length: this.clients }, (_, i) => this.client(i));
  }

  async stop() {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** @param {number} index */
  async client(index) {
    let step = 0;
    while (this.running) {
      step += 1;
      const started = performance.now();
      const body = JSON.stringify({ port: { name: `b${index}-${step}`, network_id: this.network } });
      let status = 0;
      let text = '';
      for (let g = 0; g < this.gateways.length && status === 0; g++) {
        const url = this.gateways[(index + step + g) % this.gateways.length];
        try {
          const res = await fetch(`${url}/v2.0/ports`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body,
            signal: AbortSignal.timeout(60_000),
          });
          status = res.status;
          text = await res.text();
        } catch (e) {
          // refused: nothing was sent, the other gateway may take it; else the outcome is unknown
          // and the write is not sent again (a second one would be a second port)
          if (/** @type {{ cause?: { code?: unknown } }} */ (e).cause?.code !== 'ECONNREFUSED') break;
        }
      }
      const at = performance.now();
      if (status === 201) {
        this.successes.push({ at, ms: at - started, client: index });
        this.acked.push(JSON.parse(text).port.id);
      } else this.failures.push({ at, what: status === 0 ? 'no gateway answered' : `${status} ${text.slice(0, 200)}` });
    }
  }

  /** Successes in [from, to). @param {number} from @param {number} to */
  between(from, to) {
    return this.successes.filter((s) => s.at >= from && s.at < to);
  }

  /**
   * The longest stretch of [from, to) in which no client got a write acknowledged: how long
   * the API was unavailable to everyone.
   * @param {number} from @param {number} to
   */
  longestSilence(from, to) {
    const stamps = [from, ...this.between(from, to).map((s) => s.at), to].sort((a, b) => a - b);
    let longest = 0;
    for (let i = 1; i < stamps.length; i++) longest = Math.max(longest, (stamps[i] ?? 0) - (stamps[i - 1] ?? 0));
    return Math.round(longest);
  }

  /** The slowest acknowledged write that started in [from, to): what one client waited. @param {number} from @param {number} to */
  longestWait(from, to) {
    return Math.round(
      Math.max(
        0,
        ...this.between(from, to + 60_000)
          .filter((s) => s.at - s.ms < to && s.at - s.ms >= from)
          .map((s) => s.ms),
      ),
    );
  }
}

/**
 * One configuration: its stack, a network and subnet, `seconds` of load; then `faults` runs
 * under the same load. Checks that every acknowledged port exists once with its own address.
 * @param {{ nodes: number, replicas: number, gateways: number }} shape
 * @param {{ seconds: number, clients: number, faultSeconds: number }} o
 * @param {boolean} faults
 */
async function measure(shape, o, faults) {
  const label = `${shape.nodes} NATS node(s), ${shape.replicas} replica(s) of each service, ${shape.gateways} gateway(s)`;
  console.log(`\n== ${label}`);
  const nats = await NatsCluster.start(shape.nodes);
  /** @type {ReplicatedStack | undefined} */
  let stack;
  try {
    stack = await ReplicatedStack.start(nats, {
      replicas: shape.replicas,
      gateways: shape.gateways,
      env: { ...UNLIMITED_QUOTAS, LEADER_LEASE_SECONDS: '2', ORPHAN_GRACE_SECONDS: '3600' },
    });
    const s = stack;
    const first = { url: s.urls[0] ?? '' };
    const network = (await api(first, 'POST', '/v2.0/networks', { network: { name: 'bench-cluster' } })).network.id;
    await api(first, 'POST', '/v2.0/subnets', { subnet: { network_id: network, cidr: '10.64.0.0/12', ip_version: 4 } });
    const load = new Load(s.urls, network, o.clients);
    load.start();
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const t1 = performance.now();
    const steady = load.between(t0, t1);
    const throughput = +(steady.length / ((t1 - t0) / 1000)).toFixed(1);
    const latency = latencySummary(steady.map((x) => x.ms));
    console.log(`${throughput} ports/s, ${latencyLine(latency)}`);

    /** @type {{ fault: string, longestSilenceMs: number, longestWaitMs: number, failures: number }[]} */
    const faultResults = [];
    if (faults) {
      /** the replica killed, by service, to start it again */
      /** @type {Map<string, string>} */
      const restartOf = new Map();
      /** @type {[string, () => Promise<void>, () => Promise<void>][]} */
      const plan = [['nats n1', () => nats.killNode(0), () => nats.startNode(0)]];
      for (const service of REPLICATED_BACKENDS) {
        plan.push([
          `${service} leader`,
          async () => {
            const leader = await s.leader(service);
            restartOf.set(service, leader);
            await s.kill(leader);
          },
          async () => s.restart(restartOf.get(service) ?? ''),
        ]);
      }
      plan.push(['gateway-1', () => s.kill('gateway-1'), () => s.restart('gateway-1')]);
      for (const [fault, kill, restart] of plan) {
        const failuresBefore = load.failures.length;
        const killedAt = performance.now();
        await kill();
        await sleep(o.faultSeconds * 1000);
        const windowEnd = performance.now();
        await restart();
        const result = {
          fault,
          longestSilenceMs: load.longestSilence(killedAt, windowEnd),
          longestWaitMs: load.longestWait(killedAt, windowEnd),
          failures: load.failures.length - failuresBefore,
        };
        faultResults.push(result);
        console.log(`${fault}: longest silence ${result.longestSilenceMs} ms, slowest write ${result.longestWaitMs} ms, ${result.failures} refused`);
        await sleep(2000);
      }
    }
    await load.stop();

    // every acknowledged port exists once, and no address was given twice
    const ports = (await api(first, 'GET', `/v2.0/ports?network_id=${network}&fields=id&fields=fixed_ips`)).ports;
    const ids = new Set(ports.map((/** @type {{ id: string }} */ p) => p.id));
    const lost = load.acked.filter((id) => !ids.has(id));
    const addresses = ports.flatMap((/** @type {{ fixed_ips: { ip_address: string }[] }} */ p) => p.fixed_ips.map((f) => f.ip_address));
    const duplicates = addresses.length - new Set(addresses).size;
    console.log(
      `${load.acked.length} ports acknowledged, ${lost.length} lost, ${duplicates} addresses given twice, ${load.failures.length} writes refused or unanswered`,
    );
    return {
      label,
      ...shape,
      throughput,
      latency,
      faults: faultResults,
      acknowledged: load.acked.length,
      lost: lost.length,
      duplicateAddresses: duplicates,
      failures: load.failures.length,
    };
  } finally {
    await stack?.stop();
    await nats.stop();
  }
}

async function main() {
  const opts = parseBenchOptions(process.argv.slice(2), COMMAND, OPTIONS);
  const o = { seconds: opts.seconds, clients: opts.clients, faultSeconds: opts['fault-seconds'] };
  const load = (await import('node:os')).loadavg().map((l) => +l.toFixed(1));
  const single = await measure({ nodes: 1, replicas: 1, gateways: 1 }, o, false);
  const clustered = await measure({ nodes: opts.nodes, replicas: opts.replicas, gateways: opts.gateways }, o, !opts['no-faults']);
  const ratio = +(clustered.throughput / single.throughput).toFixed(2);
  const worst = Math.max(0, ...clustered.faults.map((f) => f.longestSilenceMs));
  console.log(`\nthroughput with replication: ${ratio} of the single node's (goal >= ${GOALS.throughputRatio})`);
  console.log(`longest unavailability at a fault: ${worst} ms (goal < ${GOALS.unavailabilityMs} ms)`);
  console.log(`acknowledged writes lost: ${single.lost + clustered.lost} (goal 0)`);
  const result = {
    at: new Date().toISOString(),
    machine: machineSummary(),
    loadBefore: load,
    options: o,
    goals: GOALS,
    single,
    clustered,
    ratio,
    worstUnavailabilityMs: worst,
  };
  saveResult(HERE, result);
  if (single.lost + clustered.lost > 0 || single.duplicateAddresses + clustered.duplicateAddresses > 0) process.exit(1);
}

runBench(main);
