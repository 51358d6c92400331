#!/usr/bin/env node
// @ts-check
// L3 benchmark, on the real kernel, in namespaces it creates (needs root).
//
//   node bench/l3/run.mjs [--fips 100] [--routers 100] [--idle-routers 0] [--idle-networks] [--resync-seconds 30]
//
// 1. Floating IP latency: one router (gateway on a flat external network towards an
//    "upstream" namespace, one tenant interface) with 10 workloads, beside --idle-routers
//    routers with only a gateway (and, with --idle-networks, an interface on a tenant network
//    of their own with a DHCP server and a metadata proxy); then --fips floating IPs are associated one at a time, each
//    timed from sending the PUT to the first ping reply the upstream gets from the workload
//    through it (the DNAT is in place).
// 2. Cold start: with the agent stopped, --routers routers are created, each with a gateway
//    and an interface on its own tenant network; the agent starts and the clock runs until
//    the API shows every router ACTIVE.
// It starts its own TestStack and removes everything it made. See README.md beside this file.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { DESIRED_STATE_BUCKET, Naming } from '@ncp/contracts';
import { TestStack, Topology } from '@ncp/testing';
import { flagOption, intOption, parseBenchOptions } from '../lib/options.mjs';
import {
  agentHostTopology,
  UNLIMITED_QUOTAS,
  api,
  latencyLine,
  latencySummary,
  machineSummary,
  printReconciledLog,
  runBench,
  saveResult,
  waitUntil,
} from '../lib/stack-bench.mjs';

/**
 * The time (performance.now()) of the first reply to a ping sent every 5 ms from `ns` to
 * `address`: a reply comes within 5 ms of the path being in place, where a ping process per
 * attempt, each waiting 0.2 s for its reply, measured in steps of about 0.2 s.
 * @param {string} ns
 * @param {string} address
 * @param {number} timeoutMs
 * @returns {Promise<number>}
 */
function firstReply(ns, address, timeoutMs) {
  const child = spawn('stdbuf', ['-oL', 'ip', 'netns', 'exec', ns, 'ping', '-n', '-i', '0.005', '-W', '1', address]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${address} never answered`));
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      if (!chunk.toString().includes(' bytes from ')) return;
      const at = performance.now();
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(at);
    });
    child.on('error', reject);
  });
}

/**
 * Watches a router's entries in the desired-state bucket: `seen(text)` is the time
 * (performance.now()) an entry holding `text` is first put after the call, what the control
 * plane takes of a change before the agent gets it.
 * @param {TestStack} stack
 * @param {string} routerId
 */
async function watchRouterIntent(stack, routerId) {
  const nc = await connect({ servers: stack.natsUrl.replace(/^nats:\/\//, '') });
  const kv = await new Kvm(nc).open(new Naming({ prefix: stack.prefix }).bucket(DESIRED_STATE_BUCKET));
  const watch = await kv.watch({ key: `*.*.router.${routerId}` });
  /** @type {{ text: string, resolve: (at: number) => void }[]} */
  let waiting = [];
  void (async () => {
    for await (const entry of watch) {
      const at = performance.now();
      const value = entry.string();
      for (const w of waiting.filter((x) => value.includes(x.text))) w.resolve(at);
      waiting = waiting.filter((x) => !value.includes(x.text));
    }
  })();
  return {
    /** @param {string} text */
    seen: (text) => new Promise((resolve) => waiting.push({ text, resolve })),
    close: async () => {
      watch.stop();
      await nc.close();
    },
  };
}
const HERE = path.dirname(fileURLToPath(import.meta.url));
const opts = parseBenchOptions(process.argv.slice(2), 'node bench/l3/run.mjs', {
  fips: intOption('floating IPs associated one at a time, each timed to DNAT in place', 100, 1),
  routers: intOption('routers at the cold start', 100, 1),
  'idle-routers': intOption('routers with only a gateway on the host while the floating IPs are timed', 0, 0),
  'idle-networks': flagOption(
    'each idle router also has an interface on a tenant network of its own, with DHCP: a DHCP server and a metadata proxy each on the host',
  ),
  'resync-seconds': intOption("the agent's --resync-seconds", 30, 1),
});
const FIPS = opts.fips;
const ROUTERS = opts.routers;
const IDLE_ROUTERS = opts['idle-routers'];
const IDLE_NETWORKS = opts['idle-networks'];
const HOST = 'bench-n1';
const WORKLOADS = 10;

async function main() {
  const topo = new Topology();
  const { host, peer: up, workloads } = await agentHostTopology(topo, { peer: 'up', hostLink: 'ext0', peerLink: 'ext', workloads: WORKLOADS });
  await topo.addAddress(up, 'ext', '10.0.0.1/16');
  // The probe must not measure ARP's retry timer: a ping sent before the floating IP exists
  // leaves an incomplete neighbour entry, retried once a second by default. Retry every 50
  // ms, and learn from the router's gratuitous ARP.
  await topo.sysctl(up, 'net.ipv4.neigh.ext.retrans_time_ms', '50');
  await topo.sysctl(up, 'net.ipv4.conf.ext.arp_accept', '1');

  const stack = await TestStack.start({ env: { ...UNLIMITED_QUOTAS, LOG_LEVEL: 'warn', PLACEMENT_INTERVAL_SECONDS: '1' } });
  /** @type {import('../lib/stack-bench.mjs').BenchResult} */
  const result = {
    at: new Date().toISOString(),
    machine: machineSummary(),
    fips: FIPS,
    routers: ROUTERS,
    idleRouters: IDLE_ROUTERS,
    idleNetworks: IDLE_NETWORKS,
    resyncSeconds: opts['resync-seconds'],
  };
  const routerIds = [];
  try {
    const agentOptions = {
      row: 'bench',
      host: HOST,
      roles: ['compute', 'network'],
      tunnelIp: '10.0.0.3',
      hostNetns: host,
      physnets: { extnet0: 'ext0' },
      logLevel: process.env.BENCH_AGENT_LOG ?? 'warn',
      heartbeatSeconds: 2,
      resyncSeconds: opts['resync-seconds'],
    };
    let agent = await stack.startAgent(agentOptions);

    const { network: ext } = await api(stack, 'POST', '/v2.0/networks', {
      network: { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'extnet0' },
    });
    await api(stack, 'POST', '/v2.0/subnets', {
      subnet: { network_id: ext.id, ip_version: 4, cidr: '10.0.0.0/16', gateway_ip: '10.0.0.1', enable_dhcp: false },
    });

    // --- 1. floating IP association -> DNAT in place
    const { network: tenant } = await api(stack, 'POST', '/v2.0/networks', { network: { name: 'tenant' } });
    const { subnet } = await api(stack, 'POST', '/v2.0/subnets', { subnet: { network_id: tenant.id, ip_version: 4, cidr: '172.16.0.0/24' } });
    const { router } = await api(stack, 'POST', '/v2.0/routers', { router: { name: 'fips', external_gateway_info: { network_id: ext.id } } });
    routerIds.push(router.id);
    await api(stack, 'PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const ports = [];
    for (const w of workloads) {
      const { port } = await api(stack, 'POST', '/v2.0/ports', { port: { network_id: tenant.id, 'binding:host_id': HOST, 'binding:profile': { netns: w } } });
      ports.push(port);
    }
    // The ports are in their project's default group, which lets in only its own members:
    // the upstream's pings need a rule, as an operator would add one.
    const { security_groups: groups } = await api(stack, 'GET', `/v2.0/security-groups?name=default&project_id=${ports[0].project_id}`);
    await api(stack, 'POST', '/v2.0/security-group-rules', {
      security_group_rule: { security_group_id: groups[0].id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' },
    });
    await waitUntil(
      'workloads ACTIVE',
      async () => (await api(stack, 'GET', `/v2.0/ports?network_id=${tenant.id}&status=ACTIVE&fields=id`)).ports.length >= WORKLOADS + 1,
      120_000,
    );
    for (const [i, w] of workloads.entries()) {
      await topo.exec(w, ['ip', 'addr', 'add', `${ports[i].fixed_ips[0].ip_address}/24`, 'dev', 'eth0']);
      await topo.exec(w, ['ip', 'route', 'add', 'default', 'via', '172.16.0.1']);
    }
    for (let i = 0; i < IDLE_ROUTERS; i++) {
      const { router: idle } = await api(stack, 'POST', '/v2.0/routers', { router: { name: `idle${i}`, external_gateway_info: { network_id: ext.id } } });
      routerIds.push(idle.id);
      if (!IDLE_NETWORKS) continue;
      const { network } = await api(stack, 'POST', '/v2.0/networks', { network: { name: `idle${i}` } });
      const { subnet: s } = await api(stack, 'POST', '/v2.0/subnets', { subnet: { network_id: network.id, ip_version: 4, cidr: `172.30.${i}.0/24` } });
      await api(stack, 'PUT', `/v2.0/routers/${idle.id}/add_router_interface`, { subnet_id: s.id });
    }
    await waitUntil(
      'routers ACTIVE',
      async () => (await api(stack, 'GET', '/v2.0/routers?status=ACTIVE&fields=id')).routers.length >= IDLE_ROUTERS + 1,
      300_000,
    );
    const fips = [];
    for (let k = 0; k < FIPS; k++) fips.push((await api(stack, 'POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } })).floatingip);
    console.log(`associating ${FIPS} floating IPs, each timed until the upstream's ping gets a reply...`);
    const intents = await watchRouterIntent(stack, router.id);
    const latencies = [];
    const toIntent = [];
    const toAnswer = [];
    const current = new Map();
    for (const [k, fip] of fips.entries()) {
      const w = k % WORKLOADS;
      const previous = current.get(w);
      if (previous) await api(stack, 'PUT', `/v2.0/floatingips/${previous}`, { floatingip: { port_id: null } });
      // pinging before the PUT: the upstream's ARP request for the address is pending, and the
      // router's gratuitous ARP answers it as soon as the address is in place
      const replied = firstReply(up, fip.floating_ip_address, 30_000);
      const published = intents.seen(`"floatingIp":"${fip.floating_ip_address}"`);
      const sent = performance.now();
      await api(stack, 'PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: ports[w].id } });
      toAnswer.push(performance.now() - sent);
      const repliedAt = await replied;
      latencies.push(repliedAt - sent);
      toIntent.push((await published) - sent);
      current.set(w, fip.id);
    }
    await intents.close();
    printReconciledLog(agent);
    const fipToDnatMs = latencySummary(latencies);
    result.fipToDnatMs = fipToDnatMs;
    // the control plane's part: the API, L3's projection and its publisher, up to the bucket
    const fipToIntentMs = latencySummary(toIntent);
    result.fipToIntentMs = fipToIntentMs;
    const fipToAnswerMs = latencySummary(toAnswer);
    result.fipToAnswerMs = fipToAnswerMs;
    // in the order they were made: an outlier's place says what it met (the first one, a resync)
    result.fipToDnatSamplesMs = latencies.map((ms) => Math.round(ms));
    console.log(`floating IP associate -> first reply: ${latencyLine(fipToDnatMs)}`);
    console.log(`  of which associate -> the API's answer: ${latencyLine(fipToAnswerMs)}`);
    console.log(`  and associate -> router intent in the desired-state bucket: ${latencyLine(fipToIntentMs)}`);

    // --- 2. cold start with many routers
    await agent.kill('SIGTERM');
    console.log(`creating ${ROUTERS} routers (gateway + one interface each) while the agent is stopped...`);
    for (let i = 0; i < ROUTERS; i++) {
      const { network } = await api(stack, 'POST', '/v2.0/networks', { network: { name: `t${i}` } });
      const { subnet: s } = await api(stack, 'POST', '/v2.0/subnets', {
        subnet: { network_id: network.id, ip_version: 4, cidr: `172.${17 + Math.floor(i / 250)}.${i % 250}.0/24` },
      });
      const { router: r } = await api(stack, 'POST', '/v2.0/routers', { router: { name: `r${i}`, external_gateway_info: { network_id: ext.id } } });
      routerIds.push(r.id);
      await api(stack, 'PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: s.id });
    }
    const t0 = performance.now();
    agent.start();
    const all = ROUTERS + IDLE_ROUTERS + 1;
    await waitUntil('routers ACTIVE', async () => (await api(stack, 'GET', '/v2.0/routers?status=ACTIVE&fields=id')).routers.length >= all, 900_000);
    const coldStartSeconds = +((performance.now() - t0) / 1000).toFixed(2);
    result.coldStartSeconds = coldStartSeconds;
    console.log(`cold start: ${all} routers ACTIVE after ${coldStartSeconds} s`);
  } finally {
    await stack.stop();
    await topo.destroy();
  }
  saveResult(HERE, result);
}

runBench(main);
