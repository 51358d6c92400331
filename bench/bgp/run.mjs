#!/usr/bin/env node
// @ts-check
// BGP benchmark, on the real kernel, in namespaces it creates (needs root, bird and birdc).
//
//   node bench/bgp/run.mjs [--fips 50]
//
// Floating IP associate -> the /32 in the core router's kernel: one host namespace runs the
// agent (roles compute, network, bgp), so the router and the BGP speaker (BIRD, AS 64711) are
// on it; a "core" namespace is both on the flat external network and the speaker's BGP peer
// (its own BIRD, AS 14907, exporting what it learns to its kernel). --fips floating IPs are
// associated one at a time, each to a port of its own, each timed from sending the PUT until
// `<fip>/32 proto bird` is in the core's routing table; then each is disassociated, timed
// until the /32 is gone. It starts its own TestStack and removes everything it made. See
// README.md beside this file.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { TestStack, Topology, netnsPrerequisites } from '@ncp/testing';
import {
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

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({ options: { fips: { type: 'string', default: '50' } } });
const FIPS = Number(opts.fips);
if (!Number.isInteger(FIPS) || FIPS < 1) throw new Error(`--fips must be a positive integer, not ${opts.fips}`);
const HOST = 'bench-b1';
const POLL_MS = 20;
const DEADLINE_MS = 30_000;

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`${signal}: stopping after the current step and cleaning up...`);
  });
}

/** @param {import('../lib/stack-bench.mjs').LatencySummary} s */
const line = (s) => `${latencyLine(s)} (${s.count})`;

async function main() {
  const pre = netnsPrerequisites();
  if (!pre.ok) throw new Error(`this benchmark needs root and iproute2: ${pre.reason}`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ncp-bench-bgp-'));
  const coreCtl = path.join(tmp, 'core.ctl');
  const topo = new Topology();
  /** @type {import('@ncp/testing').TestStack | undefined} */
  let stack;
  const loadAverage1 = () => +(os.loadavg()[0] ?? 0).toFixed(2);
  // the 1-minute load average at the start and the end: other work on the machine shows in the numbers
  /** @type {{ start: number, end?: number }} */
  const loadAverage = { start: loadAverage1() };
  /** @type {import('../lib/stack-bench.mjs').BenchResult} */
  const result = { at: new Date().toISOString(), machine: machineSummary(), fips: FIPS, loadAverage };
  try {
    const host = await topo.addNetns('bh');
    const core = await topo.addNetns('core');
    // the external network (flat, physnet extnet1) and the peering link, both host <-> core
    await topo.addVethPair(host, 'ext1', core, 'ext');
    await topo.addVethPair(host, 'bgp0', core, 'peer');
    for (const [n, i] of /** @type {const} */ ([
      [host, 'ext1'],
      [host, 'bgp0'],
      [core, 'ext'],
      [core, 'peer'],
    ]))
      await topo.linkUp(n, i);
    await topo.addAddress(core, 'ext', '10.0.0.1/16');
    await topo.addAddress(core, 'peer', '10.255.0.1/24');
    await topo.addAddress(host, 'bgp0', '10.255.0.2/24');
    await writeFile(
      path.join(tmp, 'core.conf'),
      [
        'router id 10.255.0.1;',
        `log "${tmp}/core.log" all;`,
        'protocol device { }',
        'protocol kernel k4 { ipv4 { import none; export all; }; }',
        'protocol bgp speaker { local 10.255.0.1 as 14907; neighbor 10.255.0.2 as 64711; connect retry time 2; ipv4 { import all; export none; }; }',
        '',
      ].join('\n'),
    );
    await topo.exec(core, ['bird', '-c', path.join(tmp, 'core.conf'), '-s', coreCtl, '-P', path.join(tmp, 'core.pid')]);

    const started = await TestStack.start({ env: { ...UNLIMITED_QUOTAS, LOG_LEVEL: 'warn', PLACEMENT_INTERVAL_SECONDS: '1' } });
    stack = started;
    const agent = await started.startAgent({
      row: 'bench',
      host: HOST,
      roles: ['compute', 'network', 'bgp'],
      tunnelIp: '10.0.0.3',
      hostNetns: host,
      physnets: { extnet1: 'ext1' },
      logLevel: process.env.BENCH_AGENT_LOG ?? 'warn',
      heartbeatSeconds: 2,
      stateDir: path.join(tmp, 'agent'),
    });

    const { network: ext } = await api(started, 'POST', '/v2.0/networks', {
      network: { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'extnet1' },
    });
    await api(started, 'POST', '/v2.0/subnets', {
      subnet: { network_id: ext.id, ip_version: 4, cidr: '10.0.0.0/16', gateway_ip: '10.0.0.1', enable_dhcp: false },
    });
    const { network: tenant } = await api(started, 'POST', '/v2.0/networks', { network: { name: 'tenant' } });
    const { subnet } = await api(started, 'POST', '/v2.0/subnets', {
      subnet: { network_id: tenant.id, ip_version: 4, cidr: '172.16.0.0/24', enable_dhcp: false },
    });
    const { router } = await api(started, 'POST', '/v2.0/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.id } } });
    await api(started, 'PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const gateway = router.external_gateway_info.external_fixed_ips[0].ip_address;
    // Floating IPs need a port with an address on the router's subnet, not a running workload:
    // the ports stay unbound, so only the router's NAT rules and the speaker change.
    /** @type {{ id: string }[]} */
    const ports = [];
    for (let k = 0; k < FIPS; k++) ports.push((await api(started, 'POST', '/v2.0/ports', { port: { network_id: tenant.id, name: `p${k}` } })).port);
    /** @type {{ id: string, floating_ip_address: string }[]} */
    const fips = [];
    for (let k = 0; k < FIPS; k++) fips.push((await api(started, 'POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.id } })).floatingip);
    await waitUntil('router ACTIVE', async () => (await api(started, 'GET', `/v2.0/routers/${router.id}`)).router.status === 'ACTIVE', 60_000, {
      pollMs: 100,
      stop: () => interrupted,
    });

    const { bgp_speaker: speaker } = await api(started, 'POST', '/v2.0/bgp-speakers', { bgp_speaker: { name: 'spk', local_as: 64711, ip_version: 4 } });
    const { bgp_peer: peer } = await api(started, 'POST', '/v2.0/bgp-peers', {
      bgp_peer: { name: 'core', peer_ip: '10.255.0.1', remote_as: 14907, auth_type: 'none' },
    });
    await api(started, 'PUT', `/v2.0/bgp-speakers/${speaker.id}/add_bgp_peer`, { bgp_peer_id: peer.id });
    await api(started, 'PUT', `/v2.0/bgp-speakers/${speaker.id}/add_gateway_network`, { network_id: ext.id });
    await waitUntil(
      'BGP session Established at the core',
      async () => / Established/.test((await run('birdc', ['-s', coreCtl, 'show', 'protocols', 'speaker'])).stdout),
      60_000,
      { pollMs: 100, stop: () => interrupted },
    );
    result.bird = (await run('bird', ['--version'])).stderr.trim();

    /**
     * Whether the core's kernel has `<address>/32` from BIRD, via the router's gateway.
     * @param {string} address
     */
    const learned = async (address) => {
      const { stdout } = await run('ip', ['-4', '-j', '-n', core, 'route', 'show', 'exact', `${address}/32`, 'proto', 'bird']);
      return /** @type {{ gateway?: string }[]} */ (JSON.parse(stdout)).some((r) => r.gateway === gateway);
    };
    // Where the time goes: when the PUT returned, and when the speaker's bird.conf (written by
    // the agent before it runs `birdc configure`) first showed the change.
    const birdConf = path.join(tmp, 'agent', 'bgp', speaker.id, 'bird.conf');
    /** @param {string} address */
    const inBirdConf = async (address) => (await readFile(birdConf, 'utf8').catch(() => '')).includes(`route ${address}/32 unreachable;`);
    /** @typedef {{ total: number, returned: number, conf: number }} Sample */
    /**
     * @param {string} what
     * @param {() => Promise<unknown>} put
     * @param {() => Promise<boolean>} until
     * @param {() => Promise<boolean>} confDone
     * @returns {Promise<Sample>}
     */
    const timed = async (what, put, until, confDone) => {
      const sent = performance.now();
      await put();
      const returned = performance.now() - sent;
      /** @type {number | undefined} */
      let conf;
      await waitUntil(
        what,
        async () => {
          if (conf === undefined && (await confDone())) conf = performance.now() - sent;
          return until();
        },
        DEADLINE_MS,
        { pollMs: POLL_MS, stop: () => interrupted },
      );
      const total = performance.now() - sent;
      // a conf seen only with the route: it changed within the last poll
      return { total, returned, conf: conf ?? total };
    };
    /** @param {Sample[]} samples */
    const split = (samples) => ({
      toCoreKernel: latencySummary(samples.map((s) => s.total)),
      putReturned: latencySummary(samples.map((s) => s.returned)),
      birdConfWritten: latencySummary(samples.map((s) => s.conf)),
    });

    console.log(`associating ${FIPS} floating IPs, each timed until its /32 is in the core's kernel...`);
    /** @type {Sample[]} */
    const associate = [];
    for (const [k, fip] of fips.entries()) {
      const address = fip.floating_ip_address;
      associate.push(
        await timed(
          `${address}/32 learned`,
          () => api(started, 'PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: ports[k]?.id } }),
          () => learned(address),
          () => inBirdConf(address),
        ),
      );
    }
    const associateMs = split(associate);
    result.associateMs = associateMs;
    console.log(`floating IP associate -> /32 in the core's kernel: ${line(associateMs.toCoreKernel)}`);
    console.log(`  of which: PUT returned ${line(associateMs.putReturned)}; bird.conf written ${line(associateMs.birdConfWritten)}`);

    console.log(`disassociating them, each timed until its /32 is gone...`);
    /** @type {Sample[]} */
    const disassociate = [];
    for (const fip of fips) {
      const address = fip.floating_ip_address;
      disassociate.push(
        await timed(
          `${address}/32 withdrawn`,
          () => api(started, 'PUT', `/v2.0/floatingips/${fip.id}`, { floatingip: { port_id: null } }),
          async () => !(await learned(address)),
          async () => !(await inBirdConf(address)),
        ),
      );
    }
    const disassociateMs = split(disassociate);
    result.disassociateMs = disassociateMs;
    console.log(`floating IP disassociate -> /32 gone from the core's kernel: ${line(disassociateMs.toCoreKernel)}`);
    console.log(`  of which: PUT returned ${line(disassociateMs.putReturned)}; bird.conf written ${line(disassociateMs.birdConfWritten)}`);
    printReconciledLog(agent);
    /** @param {Sample} s */
    const rounded = (s) => ({ total: +s.total.toFixed(1), returned: +s.returned.toFixed(1), conf: +s.conf.toFixed(1) });
    loadAverage.end = loadAverage1();
    console.log(`load average (1 min): ${loadAverage.start} at the start, ${loadAverage.end} at the end`);
    result.samples = { associate: associate.map(rounded), disassociate: disassociate.map(rounded) };
  } catch (error) {
    const log = await readFile(path.join(tmp, 'core.log'), 'utf8').catch(() => '');
    if (log !== '') console.error(`core BIRD log (tail):\n${log.slice(-2000)}`);
    throw error;
  } finally {
    // destroy() kills BIRD (core and speaker) with their namespaces
    await stack?.stop();
    await topo.destroy();
    await rm(tmp, { recursive: true, force: true });
  }
  saveResult(HERE, result);
}

runBench(main);
