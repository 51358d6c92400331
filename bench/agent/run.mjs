#!/usr/bin/env node
// @ts-check
// Host agent benchmark, on the real kernel, in namespaces it creates (needs root).
//
//   node bench/agent/run.mjs [--networks 50] [--ports 500] [--bind 100] [--network-node]
//
// 1. Cold start: with the agent stopped, N networks (VXLAN, one /24 each) and P ports
//    bound to its host are created through the API; then the agent process starts and
//    the clock runs until the API shows every port ACTIVE.
// 2. Bind latency: with the agent running, B more ports are created one at a time, each
//    bound to the host; for each, the time from sending the POST to the PortStatusChanged
//    ACTIVE event on the stream (the moment the API shows ACTIVE), split at the moment the
//    port's entry lands in the host's desired state (the KV bucket the agent watches).
// It starts its own TestStack (built ipam + gateway + agent, fresh database and NATS
// prefix) and removes everything it made. See README.md beside this file.

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { TestStack, Topology } from '@ncp/testing';
import { flagOption, intOption, parseBenchOptions } from '../lib/options.mjs';
import { UNLIMITED_QUOTAS, agentHostTopology, api, latencyLine, latencySummary, machineSummary, runBench, saveResult } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const opts = parseBenchOptions(process.argv.slice(2), 'node bench/agent/run.mjs', {
  networks: intOption('networks (VXLAN, one /24 each) at the cold start', 50, 1),
  ports: intOption('ports bound to the host at the cold start', 500, 1),
  bind: intOption('ports bound one at a time, each timed to ACTIVE', 100, 1),
  'network-node': flagOption('the agent also has the network role: a DHCP server and a metadata proxy of every network on its host'),
});
const NETWORKS = opts.networks;
const PORTS = opts.ports;
const BIND = opts.bind;
const ROLES = opts['network-node'] ? ['compute', 'network'] : ['compute'];
const HOST = 'bench-h1';

/** @param {import('@ncp/testing').TestStack} stack */
async function activeCount(stack) {
  const body = await api(stack, 'GET', `/v2.0/ports?binding%3Ahost_id=${HOST}&status=ACTIVE&fields=id`);
  return body.ports.length;
}

/**
 * The agent's passes logged since `since` (its `reconciled` lines, pino JSON): how many, the
 * median milliseconds of the whole pass and of each driver that ran in it, and the slowest.
 * @param {string} logs
 * @param {number} since epoch ms
 */
function passSummary(logs, since) {
  /** @type {number[]} */
  const pass = [];
  /** @type {Record<string, number[]>} */
  const samples = { pass };
  /** @type {{ ms: number, managers: Record<string, number> }[]} the three slowest passes, with their drivers' times */
  const slowest = [];
  for (const line of logs.split('\n')) {
    if (!line.includes('"reconciled"')) continue;
    let entry;
    try {
      entry = JSON.parse(line.slice(line.indexOf('{')));
    } catch {
      continue;
    }
    if (entry.time < since) continue;
    pass.push(entry.ms);
    slowest.push({ ms: entry.ms, managers: entry.managers ?? {} });
    slowest.sort((a, b) => b.ms - a.ms);
    slowest.splice(3);
    for (const [name, ms] of Object.entries(entry.managers ?? {})) (samples[name] ??= []).push(ms);
  }
  const p50Ms = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, latencySummary(values).p50]));
  return { count: pass.length, p50Ms, slowest };
}

async function main() {
  const topo = new Topology();
  const { host, workloads } = await agentHostTopology(topo, { peer: 'bp', hostLink: 'ul0', peerLink: 'ul0', workloads: NETWORKS });
  await topo.addAddress(host, 'ul0', '10.77.0.2/24');
  workloads.push(topo.ns('wbind'));
  topo.adopt(topo.ns('wbind'));

  const stack = await TestStack.start({ env: { ...UNLIMITED_QUOTAS, LOG_LEVEL: 'warn' } });
  /** @type {import('../lib/stack-bench.mjs').BenchResult} */
  const result = { at: new Date().toISOString(), machine: machineSummary(), networks: NETWORKS, ports: PORTS, bind: BIND, roles: ROLES };
  try {
    // info: its `reconciled` lines give each pass's time per driver (see passSummary)
    const agentOptions = { row: 'bench', host: HOST, roles: ROLES, tunnelIp: '10.77.0.2', hostNetns: host, logLevel: 'info', heartbeatSeconds: 2 };
    // Register once (desired state is published for known hosts), then stop the agent.
    const agent = await stack.startAgent(agentOptions);
    await agent.kill('SIGTERM');

    console.log(`creating ${NETWORKS} networks and ${PORTS} ports bound to ${HOST}...`);
    const networks = [];
    for (let i = 0; i < NETWORKS; i++) {
      const { network } = await api(stack, 'POST', '/v2.0/networks', { network: { name: `bench-${i}` } });
      await api(stack, 'POST', '/v2.0/subnets', { subnet: { network_id: network.id, ip_version: 4, cidr: `10.${100 + Math.floor(i / 200)}.${i % 200}.0/24` } });
      networks.push(network.id);
    }
    for (let j = 0; j < PORTS; j++) {
      const i = j % NETWORKS;
      await api(stack, 'POST', '/v2.0/ports', {
        port: { network_id: networks[i], 'binding:host_id': HOST, 'binding:profile': { netns: workloads[i], ifname: `e${Math.floor(j / NETWORKS)}` } },
      });
    }

    console.log('cold start: starting the agent...');
    const t0 = performance.now();
    agent.start();
    let active = 0;
    // a network node also binds each network's DHCP port
    const expected = PORTS + (ROLES.includes('network') ? NETWORKS : 0);
    while (active < expected) {
      if (performance.now() - t0 > 600_000) throw new Error(`only ${active}/${expected} ACTIVE after 10 minutes`);
      await sleep(100);
      active = await activeCount(stack);
    }
    const coldStartSeconds = Number(((performance.now() - t0) / 1000).toFixed(2));
    result.coldStartSeconds = coldStartSeconds;
    console.log(`cold start: ${expected} ports on ${NETWORKS} networks ACTIVE after ${coldStartSeconds} s`);

    // Bind latency, measured on the event stream: PortStatusChanged ACTIVE for the port; and
    // when its L2 entry was first put in the desired state (a KV put is a message on its key's
    // subject, seen here without a consumer).
    const nc = await connect({ servers: stack.natsUrl.replace('nats://', '') });
    const activeAt = new Map();
    const desiredAt = new Map();
    const sub = nc.subscribe(`${stack.prefix}.ev.ipam.network.>`, {
      callback: (_err, msg) => {
        const e = JSON.parse(new TextDecoder().decode(msg.data));
        if (e.type === 'PortStatusChanged' && e.data.status === 'ACTIVE') activeAt.set(e.data.portId, performance.now());
      },
    });
    const desiredSub = nc.subscribe(`$KV.ncp_desired_${stack.prefix}.bench.${HOST}.l2port.*`, {
      callback: (_err, msg) => {
        const id = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
        if (!desiredAt.has(id)) desiredAt.set(id, performance.now());
      },
    });
    const latencies = [];
    const toDesired = [];
    const desiredToActive = [];
    const bindStartedAt = Date.now();
    for (let k = 0; k < BIND; k++) {
      const sent = performance.now();
      const { port } = await api(stack, 'POST', '/v2.0/ports', {
        port: { network_id: networks[k % NETWORKS], 'binding:host_id': HOST, 'binding:profile': { netns: topo.ns('wbind'), ifname: `b${k}` } },
      });
      const deadline = sent + 30_000;
      while (!activeAt.has(port.id)) {
        if (performance.now() > deadline) throw new Error(`port ${port.id} not ACTIVE within 30 s`);
        await sleep(2);
      }
      latencies.push(activeAt.get(port.id) - sent);
      const desired = desiredAt.get(port.id);
      if (desired === undefined) throw new Error(`port ${port.id} ACTIVE without its desired-state entry seen`);
      toDesired.push(desired - sent);
      desiredToActive.push(activeAt.get(port.id) - desired);
    }
    sub.unsubscribe();
    desiredSub.unsubscribe();
    await nc.close();
    const bindToActiveMs = latencySummary(latencies);
    result.bindToActiveMs = bindToActiveMs;
    const bindToDesiredMs = latencySummary(toDesired);
    const desiredToActiveMs = latencySummary(desiredToActive);
    result.bindToDesiredMs = bindToDesiredMs;
    result.desiredToActiveMs = desiredToActiveMs;
    console.log(`bind -> ACTIVE over ${BIND} ports: ${latencyLine(bindToActiveMs)}`);
    console.log(`  POST -> desired-state entry: ${latencyLine(bindToDesiredMs)}`);
    console.log(`  desired-state entry -> ACTIVE (agent, report, IPAM's fold): ${latencyLine(desiredToActiveMs)}`);
    const passes = passSummary(agent.logs(), bindStartedAt);
    result.bindPasses = passes;
    console.log(
      `agent passes during the binds: ${passes.count}; p50 ms per pass: ${Object.entries(passes.p50Ms)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    console.log(
      `  slowest passes: ${passes.slowest
        .map(
          (p) =>
            `${p.ms} ms (${Object.entries(p.managers)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')})`,
        )
        .join('; ')}`,
    );
  } finally {
    await stack.stop();
    await topo.destroy();
  }
  saveResult(HERE, result);
}

runBench(main);
