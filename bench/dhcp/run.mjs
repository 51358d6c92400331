#!/usr/bin/env node
// @ts-check
// DHCP benchmark, on the real kernel, in namespaces it creates (needs root).
//
//   node bench/dhcp/run.mjs [--ports 50] [--start active|eth0] [--retry-ms 0]
//
// Port create -> first DHCPv4 lease: a network agent (net-a1, row-a) runs dnsmasq for one
// VXLAN network, a compute agent (cmp-b1, row-b, across a routed spine) plugs the workloads.
// --ports ports are created one after another, each bound to cmp-b1 in a namespace of its
// own; each is timed from sending the POST until the real ISC dhclient, launched again and
// again (2 s timeout each) as soon as the workload's eth0 carries the port's MAC, gets a
// lease for the port's fixed IP. Along the way it notes when the POST returned, when the MAC
// reached dnsmasq's hosts file and when eth0 appeared, to show where the time goes.
// It starts its own TestStack and removes everything it made. See README.md beside this file.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { UNLIMITED_QUOTAS, api, errorText, latencySummary, printReconciledLog, runBench, waitUntil, writeResult } from '../lib/stack-bench.mjs';
import { TestStack, Topology, netnsPrerequisites, runDhclient } from '@ncp/testing';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: { ports: { type: 'string', default: '50' }, 'retry-ms': { type: 'string', default: '0' }, start: { type: 'string', default: 'active' } },
});
const PORTS = Number(opts.ports);
// 0: each dhclient attempt runs until dhclient gives up by itself (timeout 2 s, which it only
// checks at its first retransmission, ~3 s). > 0: an attempt without a lease is killed after
// this many ms and dhclient launched again, a client retransmitting that often.
const RETRY_MS = Number(opts['retry-ms']);
// When the workload starts DHCP: once the API shows its port ACTIVE (as Nova boots a VM after
// vif-plugged), or as soon as its eth0 exists (a container that DISCOVERs at link-up).
const START = opts.start;
if (START !== 'active' && START !== 'eth0') throw new Error(`--start must be active or eth0, not ${START}`);
const DHCLIENT_TIMEOUT_S = 2;
const POLL_MS = 20;
const PORT_DEADLINE_MS = 60_000;
const CIDR = '10.70.0.0/22';

/** @param {string} id */
const short = (id) => id.replace(/-/g, '').slice(0, 8);
/** @type {{ (v: number): number, (v: number | undefined): number | undefined }} */
const ms = (v) => /** @type {number} */ (v === undefined ? undefined : +v.toFixed(1));

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`${signal}: stopping after the current step and cleaning up...`);
  });
}

/** @param {string} ns */
async function pidsIn(ns) {
  return run('ip', ['netns', 'pids', ns]).then(
    (r) =>
      r.stdout
        .split('\n')
        .filter((p) => /^\d+$/.test(p))
        .map(Number),
    () => [],
  );
}

/** @param {number} pid */
function killQuietly(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * eth0's MAC in the namespace, or null while the namespace or the interface is missing.
 * @param {string} ns
 * @returns {Promise<string | null>}
 */
async function eth0Mac(ns) {
  try {
    const { stdout } = await run('ip', ['-n', ns, '-j', 'link', 'show', 'eth0']);
    return JSON.parse(stdout)[0]?.address ?? null;
  } catch {
    return null;
  }
}

function machine() {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model ?? '?', cores: cpus.length, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release() };
}

async function dnsmasqVersion() {
  try {
    return (await run('dnsmasq', ['--version'])).stdout.split('\n')[0]?.trim() ?? '';
  } catch (e) {
    return `unknown (${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * @typedef {object} PortSample
 * @property {string} netns
 * @property {number} attempts
 * @property {[number, number][]} attemptTimes when each dhclient attempt started and ended (ms from POST)
 * @property {string[]} [dhclientLogs] with BENCH_DEBUG
 * @property {number} postMs
 * @property {string} portId
 * @property {string} mac
 * @property {string} ip
 * @property {number} [hostsFileMs]
 * @property {number} [activeMs]
 * @property {number} [eth0Ms]
 * @property {number} [leaseMs]
 * @property {(string | undefined)[]} [wrongLeases]
 */

/**
 * Times one port: POST -> lease for its fixed IP.
 * @param {import('@ncp/testing').TestStack} stack
 * @param {string} networkId
 * @param {string} hostsFile
 * @param {string} ns
 * @returns {Promise<PortSample>}
 */
async function measurePort(stack, networkId, hostsFile, ns) {
  const t0 = performance.now();
  const { port } = await api(stack, 'POST', '/v2.0/ports', { port: { network_id: networkId, 'binding:host_id': 'cmp-b1', 'binding:profile': { netns: ns } } });
  /** @type {PortSample} */
  const sample = {
    netns: ns,
    attempts: 0,
    attemptTimes: [],
    ...(process.env.BENCH_DEBUG ? { dhclientLogs: [] } : {}),
    postMs: performance.now() - t0,
    portId: port.id,
    mac: port.mac_address,
    ip: port.fixed_ips[0]?.ip_address,
  };
  let done = false;
  // In the background: when did the MAC reach dnsmasq's hosts file on the network agent?
  const hostsWatch = (async () => {
    while (!done) {
      const text = await readFile(hostsFile, 'utf8').catch(() => '');
      if (text.toLowerCase().includes(port.mac_address.toLowerCase())) {
        sample.hostsFileMs = performance.now() - t0;
        return;
      }
      await sleep(POLL_MS);
    }
  })();
  // and when did the API show the port ACTIVE (plugged, and in its DHCP server)?
  const activeWatch = (async () => {
    while (!done) {
      const body = await api(stack, 'GET', `/v2.0/ports/${port.id}?fields=status`).catch(() => null);
      if (body?.port?.status === 'ACTIVE') {
        sample.activeMs = performance.now() - t0;
        return;
      }
      await sleep(50);
    }
  })();
  try {
    for (;;) {
      if (interrupted) throw new Error('interrupted');
      if (performance.now() - t0 > PORT_DEADLINE_MS)
        throw new Error(
          `port ${port.id} (${port.mac_address}, ${sample.ip}) got no lease in ${PORT_DEADLINE_MS} ms after ${sample.attempts} dhclient attempts`,
        );
      if (sample.eth0Ms === undefined) {
        // dhclient needs the interface, and a DISCOVER from another MAC would not be this port's
        if ((await eth0Mac(ns)) !== port.mac_address) {
          await sleep(POLL_MS);
          continue;
        }
        sample.eth0Ms = performance.now() - t0;
      }
      if (START === 'active' && sample.activeMs === undefined) {
        await sleep(10);
        continue;
      }
      sample.attempts += 1;
      const started = performance.now() - t0;
      const attempt = runDhclient(ns, 'eth0', 'v4', DHCLIENT_TIMEOUT_S);
      let finished = false;
      if (RETRY_MS > 0) {
        void (async () => {
          await sleep(RETRY_MS);
          // the dhclient this attempt started (the agent's own `ip -n` commands show up in the
          // namespace too, and are left alone)
          if (!finished)
            for (const pid of await pidsIn(ns)) if ((await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() === 'dhclient') killQuietly(pid);
        })();
      }
      const { lease, log } = await attempt.finally(() => (finished = true));
      sample.attemptTimes.push([ms(started), ms(performance.now() - t0)]);
      sample.dhclientLogs?.push(log);
      if (lease?.new_ip_address === sample.ip) {
        sample.leaseMs = performance.now() - t0;
        break;
      }
      if (lease) sample.wrongLeases = [...(sample.wrongLeases ?? []), lease.new_ip_address];
    }
  } finally {
    done = true;
    await hostsWatch;
    await activeWatch;
  }
  return sample;
}

async function main() {
  const pre = netnsPrerequisites();
  if (!pre.ok) throw new Error(`this benchmark needs root and iproute2: ${pre.reason}`);
  const topo = new Topology();
  /** @type {import('@ncp/testing').TestStack | undefined} */
  let stack;
  /** @type {string | undefined} */
  let stateDir;
  /** @type {{ at: string, machine: ReturnType<typeof machine>, dnsmasq: string, [figure: string]: unknown }} */
  const result = {
    at: new Date().toISOString(),
    machine: machine(),
    dnsmasq: await dnsmasqVersion(),
    parameters: { ports: PORTS, start: START, dhclientTimeoutSeconds: DHCLIENT_TIMEOUT_S, retryMs: RETRY_MS, pollMs: POLL_MS, cidr: CIDR },
  };
  try {
    const spine = await topo.addNetns('spine');
    const net = await topo.addNetns('net');
    const cmp = await topo.addNetns('cmp');
    await topo.routedRows(spine, net, cmp);
    const workloads = Array.from({ length: PORTS }, (_, i) => topo.ns(`w${i}`));
    for (const w of workloads) topo.adopt(w);

    const started = await TestStack.start({ env: { ...UNLIMITED_QUOTAS, AGENT_DOWN_SECONDS: '4', PLACEMENT_INTERVAL_SECONDS: '1' } });
    stack = started;
    const state = await mkdtemp(path.join(os.tmpdir(), 'ncp-bench-dhcp-state-'));
    stateDir = state;
    const logLevel = process.env.BENCH_AGENT_LOG ?? 'info';
    const netAgent = await started.startAgent({ row: 'row-a', host: 'net-a1', roles: ['network'], tunnelIp: '10.1.0.2', hostNetns: net, stateDir, logLevel });
    const cmpAgent = await stack.startAgent({ row: 'row-b', host: 'cmp-b1', roles: ['compute'], tunnelIp: '10.2.0.2', hostNetns: cmp, logLevel });

    const { network } = await api(started, 'POST', '/v2.0/networks', { network: { name: 'bench-dhcp', 'provider:network_type': 'vxlan' } });
    await api(started, 'POST', '/v2.0/subnets', { subnet: { network_id: network.id, ip_version: 4, cidr: CIDR } });
    const t = performance.now();
    await waitUntil(
      'DHCP server ACTIVE',
      async () => (await api(started, 'GET', `/v2.0/networks/${network.id}/dhcp-agents`)).agents?.[0]?.dhcp_server?.status === 'ACTIVE',
      120_000,
      { pollMs: 100, stop: () => interrupted },
    );
    const dhcpServerActiveMs = ms(performance.now() - t);
    result.dhcpServerActiveMs = dhcpServerActiveMs;
    const hostsFile = path.join(state, 'dhcp', network.id, 'host');
    console.log(`namespaces: ${topo.prefix}*, qdhcp-${short(network.id)}`);
    console.log(`DHCP server ACTIVE on net-a1 after ${dhcpServerActiveMs} ms; timing ${PORTS} ports, port create -> first lease...`);

    const samples = [];
    for (const [i, ns] of workloads.entries()) {
      let s;
      try {
        s = await measurePort(started, network.id, hostsFile, ns);
      } catch (e) {
        if (!interrupted) {
          const left = (await run('ip', ['netns', 'list'])).stdout
            .split('\n')
            .filter((l) => l.startsWith(topo.prefix) || l.startsWith(`qdhcp-${short(network.id)}`));
          console.error(`--- namespaces now: ${left.map((l) => l.split(' ')[0]).join(' ')}`);
          const ports = await api(started, 'GET', `/v2.0/ports?network_id=${network.id}`).catch((err) => ({ error: errorText(err) }));
          console.error(`--- ports: ${JSON.stringify(ports).slice(0, 3000)}`);
          console.error(`--- dhcp-agents: ${JSON.stringify(await api(started, 'GET', `/v2.0/networks/${network.id}/dhcp-agents`).catch(errorText))}`);
          console.error(
            `--- agent net-a1:\n${netAgent.logs().slice(-6000)}\n--- agent cmp-b1:\n${cmpAgent.logs().slice(-4000)}\n--- dhcp:\n${started.logs('dhcp').slice(-2000)}`,
          );
        }
        throw e;
      }
      samples.push({ i, ...s, postMs: ms(s.postMs), hostsFileMs: ms(s.hostsFileMs), eth0Ms: ms(s.eth0Ms), activeMs: ms(s.activeMs), leaseMs: ms(s.leaseMs) });
      console.log(
        `  #${String(i).padStart(3)} ${s.ip.padEnd(12)} lease ${(s.leaseMs ?? 0).toFixed(0).padStart(5)} ms  (POST ${s.postMs.toFixed(0)}, hosts file ${s.hostsFileMs === undefined ? '-' : s.hostsFileMs.toFixed(0)}, eth0 ${(s.eth0Ms ?? 0).toFixed(0)}, ACTIVE ${s.activeMs === undefined ? '-' : s.activeMs.toFixed(0)} ms; ${s.attempts} dhclient attempt${s.attempts === 1 ? '' : 's'})`,
      );
    }
    if (process.env.BENCH_DEBUG) {
      result.debug = {
        dnsmasqLog: await readFile(path.join(state, 'dhcp', network.id, 'dnsmasq.log'), 'utf8').catch(() => null),
        netAgentLog: netAgent.logs(),
        cmpAgentLog: cmpAgent.logs(),
      };
    }
    printReconciledLog(netAgent);

    /** @param {(number | undefined)[]} values */
    const stats = (values) => {
      const v = values.filter((x) => x !== undefined);
      return v.length === 0 ? null : latencySummary(v);
    };
    const attempts = samples.map((s) => s.attempts);
    const summary = {
      portCreateToLeaseMs: stats(samples.map((s) => s.leaseMs)),
      postMs: stats(samples.map((s) => s.postMs)),
      hostsFileMs: stats(samples.map((s) => s.hostsFileMs)),
      eth0Ms: stats(samples.map((s) => s.eth0Ms)),
      activeMs: stats(samples.map((s) => s.activeMs)),
      dhclientAttempts: {
        mean: +(attempts.reduce((a, b) => a + b, 0) / attempts.length).toFixed(2),
        max: Math.max(...attempts),
        histogram: Object.fromEntries([...new Set(attempts)].sort((a, b) => a - b).map((n) => [n, attempts.filter((x) => x === n).length])),
      },
    };
    result.summary = summary;
    result.samples = samples;

    /** @type {[string, import('../lib/stack-bench.mjs').LatencySummary | null][]} */
    const rows = [
      ['port create -> lease', summary.portCreateToLeaseMs],
      ['  POST returned', summary.postMs],
      ['  MAC in dnsmasq hosts', summary.hostsFileMs],
      ['  eth0 with port MAC', summary.eth0Ms],
      ['  port ACTIVE in API', summary.activeMs],
    ];
    console.log(`\n${'(ms from POST)'.padEnd(24)}${['p50', 'p90', 'p99', 'max'].map((h) => h.padStart(9)).join('')}`);
    for (const [label, st] of rows)
      console.log(`${label.padEnd(24)}${st ? [st.p50, st.p90, st.p99, st.max].map((x) => x.toFixed(0).padStart(9)).join('') : '        -'}`);
    const hist = Object.entries(summary.dhclientAttempts.histogram)
      .map(([n, c]) => `${c} x ${n}`)
      .join(', ');
    console.log(`dhclient attempts per port: mean ${summary.dhclientAttempts.mean}, max ${summary.dhclientAttempts.max} (${hist})`);
  } finally {
    // The stack also removes the qdhcp- namespace (and dnsmasq) its network caused.
    await stack?.stop().catch((e) => console.error(`stack stop: ${errorText(e)}`));
    await topo.destroy().catch((e) => console.error(errorText(e)));
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  }
  const file = writeResult(HERE, result);
  const { machine: m, dnsmasq } = result;
  console.log(`machine: ${m.cpu} x ${m.cores}, ${m.memoryGiB} GiB; ${dnsmasq}\njson: ${path.relative(process.cwd(), file)}`);
}

runBench(main);
