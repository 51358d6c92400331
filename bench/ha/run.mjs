#!/usr/bin/env node
// @ts-check
// HA router failover benchmark: the data plane's L3 driver (reconcileL3, keepalived in the
// router namespaces) on the real kernel, in namespaces it creates (needs root).
//
//   node bench/ha/run.mjs [--failovers 20] [--routers 1] [--advert-ms 500]
//
// One HA router (SNAT, a floating IP) on two "hosts", beside --routers - 1 more HA routers
// (a gateway port each) sharing the HA network, as a project's routers do, each with its own
// VRID. Each host's router namespaces are plugged as the L2 driver plugs them (the same qr-/qg-
// ports and MACs on the tenant and external segments, the host's own HA port on the HA
// segment); the segments are bridges in a switch namespace. Two pings run all along, every
// 100 ms: a workload to the upstream through the first router's SNAT (the gateway path), and
// the upstream to its floating IP (the floating IP path). Each failover kills the first
// router's master host: all its ports leave the segments at once (one `ip -batch`) and its
// namespaces are deleted with every process in them (keepalived killed without a goodbye),
// as when the machine dies. The clock per path runs from the last reply before the kill to
// the first reply after it (ping -D timestamps). The dead host then comes back (new
// namespaces, plugged and reconciled as an agent restarting on a rebooted host would), joins
// as the backup, and the next failover kills the other one. Results go to
// bench/ha/results/<timestamp>.json. See README.md beside this file.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { haInterfaceName, routerInterfaceName } from '@ncp/contracts';
import { ExecFileRunner, reconcileL3 } from '@ncp/dataplane';
import { Topology, removeNetnsWithProcesses } from '@ncp/testing';
import { intOption, parseBenchOptions } from '../lib/options.mjs';
import { latencyLine, latencySummary, machineSummary, runBench, saveResult, waitUntil } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** gateway addresses 10.0.2.11-200 */
const MAX_ROUTERS = 190;
const opts = parseBenchOptions(process.argv.slice(2), 'node bench/ha/run.mjs', {
  failovers: intOption('failovers, each killing the current master host', 20, 1, 1000),
  routers: intOption('HA routers on the two hosts (the first one probed)', 1, 1, MAX_ROUTERS),
  'advert-ms': intOption('VRRP advert interval (L3_HA_ADVERT_SECONDS x 1000), in tens of ms', 500, 50, 40000),
});
if (opts['advert-ms'] % 10 !== 0) {
  console.error(`--advert-ms must be a multiple of 10 (VRRPv3 counts hundredths of a second), got ${opts['advert-ms']}`);
  process.exit(2);
}

const UPSTREAM = '10.0.2.2';
const FLOATING_IP = '10.0.2.215';
const WORKLOAD = '172.16.100.10';
const PORT_QR = 'd5000001-0000-4000-8000-000000000001';
const QR = routerInterfaceName('internal', PORT_QR);
const MAC_QR = 'fa:16:3e:20:00:01';

/** @param {number} k @param {number} width */
const hex = (k, width) => k.toString(16).padStart(width, '0');

/**
 * Router k (0 is the probed one): its id, VRID, gateway port and address, and its HA port and
 * address on each host (one HA network for all, as one project's routers share theirs).
 * @param {number} k
 */
function routerOf(k) {
  const haPort = { a: `da${hex(k, 6)}-0000-4000-8000-00000000000a`, b: `db${hex(k, 6)}-0000-4000-8000-00000000000b` };
  /** @param {number} n the n-th address of 169.254.192.0/18 */
  const haAddress = (n) => `169.254.${192 + Math.floor(n / 256)}.${n % 256}/18`;
  const gatewayPort = `d6${hex(k, 6)}-0000-4000-8000-000000000002`;
  return {
    k,
    id: `e9a1${hex(k, 4)}-0000-4000-8000-000000000001`,
    vrid: k + 1,
    gatewayPort,
    qg: routerInterfaceName('gateway', gatewayPort),
    qgMac: `fa:16:3e:21:${hex(k >> 8, 2)}:${hex(k & 255, 2)}`,
    qgAddress: k === 0 ? '10.0.2.211/24' : `10.0.2.${10 + k}/24`,
    haPort,
    /** @type {Record<Host, string>} */
    ha: { a: haInterfaceName(haPort.a), b: haInterfaceName(haPort.b) },
    /** @type {Record<Host, string>} */
    haAddress: { a: haAddress(2 * k + 1), b: haAddress(2 * k + 2) },
  };
}
/** @typedef {ReturnType<typeof routerOf>} BenchRouter */

/** @typedef {'a' | 'b'} Host */
/** @param {Host} host @returns {Host} */
const other = (host) => (host === 'a' ? 'b' : 'a');

/**
 * The reply timestamps (ms, from ping -D) of a ping running in a namespace.
 * @param {string} ns
 * @param {string} target
 */
function continuousPing(ns, target) {
  // line-buffered: into a pipe, ping's output would come in 4 KiB blocks
  const child = spawn('stdbuf', ['-oL', 'ip', 'netns', 'exec', ns, 'ping', '-n', '-D', '-i', '0.1', target]);
  /** @type {number[]} */
  const replies = [];
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (/** @type {string} */ chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^\[(\d+\.\d+)\].*bytes from/.exec(line);
      if (match?.[1] !== undefined) replies.push(Number(match[1]) * 1000);
    }
  });
  return {
    replies,
    /** the newest reply's time, or 0 */
    last: () => replies.at(-1) ?? 0,
    /** @param {number} at */
    lastAtOrBefore: (at) => replies.findLast((t) => t <= at),
    /** @param {number} after */
    firstAfter: (after) => replies.find((t) => t > after),
    stop: () => child.kill('SIGINT'),
  };
}

async function main() {
  const topo = new Topology();
  const runner = new ExecFileRunner();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ncp-bench-ha-'));
  const { ns: fixed, create } = topo.plan({ sw: 'sw', up: 'up', wl: 'wl' });
  const routers = Array.from({ length: opts.routers }, (_, k) => routerOf(k));
  const [probed] = routers;
  if (probed === undefined) throw new Error('no router');
  const primaryVip = `169.254.0.${probed.vrid}/24`;
  const nsPrefix = (/** @type {Host} */ host) => `${host}-qrouter-`;
  /** a router's namespace on a host, deleted by topo.destroy() @param {Host} host @param {BenchRouter} r */
  const nsOf = (host, r) => {
    const name = topo.ns(`${nsPrefix(host)}${r.id.slice(0, 8)}`);
    topo.adopt(name);
    return name;
  };
  const incarnation = { a: 0, b: 0 };
  /** @param {Host} host */
  const stateDir = (host) => path.join(tmp, `${host}-${incarnation[host]}`);
  /** @param {Host} host @param {BenchRouter} r */
  const intent = (host, r) => ({
    id: r.id,
    namespace: nsOf(host, r),
    adminStateUp: true,
    interfaces: [
      ...(r.k === 0 ? [{ portId: PORT_QR, ifname: QR, kind: /** @type {const} */ ('internal'), addresses: ['172.16.100.1/24'] }] : []),
      { portId: r.gatewayPort, ifname: r.qg, kind: /** @type {const} */ ('gateway'), addresses: [r.qgAddress] },
    ],
    routes: [{ destination: '0.0.0.0/0', nexthop: UPSTREAM }],
    snat: r.k === 0 ? [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: [] }] : [],
    floatingIps: r.k === 0 ? [{ id: 'f9000001-0000-4000-8000-000000000001', floatingIp: FLOATING_IP, fixedIp: WORKLOAD }] : [],
    ha: {
      vrid: r.vrid,
      priority: 50,
      advertSeconds: opts['advert-ms'] / 1000,
      interface: { portId: r.haPort[host], ifname: r.ha[host], address: r.haAddress[host] },
    },
  });
  /** @param {Host} host */
  const reconcile = async (host) => {
    const intents = routers.map((r) => intent(host, r));
    const results = await reconcileL3(intents, runner, { namespacePrefix: topo.ns(nsPrefix(host)) }, { stateDir: stateDir(host) });
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`host ${host}: ${JSON.stringify(failed.slice(0, 3))}`);
  };
  /**
   * A host cut off at once: the switch drops every frame from or to its ports (all named
   * `<host>…` there) in one nftables transaction. Deleting its ports instead takes the kernel
   * ~15 ms a link (200 links: 3 s, during which the survivor's keepalived waits for the same
   * lock), and a master that loses a router port while its HA port works resigns with a
   * priority-0 advert, a polite failover a dying machine never gives. @param {Host} host
   */
  /** The switch ends of a host's ports. @param {Host} host */
  const switchPorts = (host) => [...routers.map((r) => `${host}h${r.k}`), `${host}r`, ...routers.map((r) => `${host}g${r.k}`)];
  /** @param {Host} host */
  const cutOff = (host) =>
    runner.run(['ip', 'netns', 'exec', fixed.sw, 'nft', '-f', '-'], {
      input: [
        'table bridge ncp_bench_cut {',
        // before the bridge learns: the cut host's own chatter (its keepalived, still master
        // to itself, its router's ARP) must not pull the routers' MACs back to its ports
        `  chain prerouting { type filter hook prerouting priority 0; iifname "${host}*" drop; }`,
        `  chain forward { type filter hook forward priority 0; oifname "${host}*" drop; }`,
        '}',
        '',
      ].join('\n'),
    });
  /** What the L2 driver plugs on a host: the routers' ports (same MACs on both) and its own HA ports. @param {Host} host */
  const plug = async (host) => {
    /** @type {string[]} */
    const lines = [];
    /** @type {{ ns: string, input: string }[]} */
    const ups = [];
    for (const r of routers) {
      const ns = nsOf(host, r);
      await runner.run(['ip', 'netns', 'add', ns]);
      const ports = [
        ...(r.k === 0 ? [{ dev: QR, mac: MAC_QR, sw: `${host}r`, bridge: 'brint' }] : []),
        { dev: r.qg, mac: r.qgMac, sw: `${host}g${r.k}`, bridge: 'brext' },
        { dev: r.ha[host], mac: null, sw: `${host}h${r.k}`, bridge: 'brha' },
      ];
      for (const { dev, mac, sw, bridge } of ports) {
        lines.push(
          `link add name ${sw} type veth peer name ${dev}${mac === null ? '' : ` address ${mac}`} netns ${ns}`,
          `link set dev ${sw} master ${bridge} up`,
        );
      }
      ups.push({ ns, input: ports.map((p) => `link set dev ${p.dev} up\n`).join('') });
    }
    await runner.run(['ip', '-n', fixed.sw, '-batch', '-'], { input: lines.map((l) => `${l}\n`).join('') });
    for (const { ns, input } of ups) await runner.run(['ip', '-n', ns, '-batch', '-'], { input });
  };
  /** @param {Host} host */
  const isMaster = async (host) => {
    const { stdout } = await runner.run(['ip', '-n', nsOf(host, probed), '-j', 'addr', 'show', 'dev', probed.ha[host]]);
    const links = /** @type {{ addr_info: { local: string, prefixlen: number }[] }[]} */ (JSON.parse(stdout));
    return (links[0]?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === primaryVip);
  };
  /** @returns {Promise<Host>} */
  const oneMaster = async () => {
    /** @type {Host | null} */
    let master = null;
    await waitUntil(
      'exactly one VRRP master',
      async () => {
        const [a, b] = [await isMaster('a'), await isMaster('b')];
        master = a !== b ? (a ? 'a' : 'b') : null;
        return master !== null;
      },
      30_000,
      { pollMs: 100 },
    );
    if (master === null) throw new Error('no master');
    return master;
  };

  /** @type {ReturnType<typeof continuousPing>[]} */
  const pings = [];
  try {
    await create();
    for (const bridge of ['brint', 'brext', 'brha']) await topo.exec(fixed.sw, ['ip', 'link', 'add', bridge, 'type', 'bridge']);
    await topo.addVethPair(fixed.wl, 'eth0', fixed.sw, 'w0');
    await topo.addVethPair(fixed.up, 'ext', fixed.sw, 'u0');
    await topo.exec(fixed.sw, ['ip', 'link', 'set', 'dev', 'w0', 'master', 'brint', 'up']);
    await topo.exec(fixed.sw, ['ip', 'link', 'set', 'dev', 'u0', 'master', 'brext', 'up']);
    for (const bridge of ['brint', 'brext', 'brha']) await topo.linkUp(fixed.sw, bridge);
    await topo.linksUp([fixed.wl, 'eth0'], [fixed.up, 'ext']);
    await topo.addAddress(fixed.up, 'ext', `${UPSTREAM}/24`);
    await topo.addAddress(fixed.wl, 'eth0', `${WORKLOAD}/24`);
    await topo.addRoute(fixed.wl, 'default', '172.16.100.1');
    for (const host of /** @type {const} */ (['a', 'b'])) {
      await plug(host);
      await reconcile(host);
    }
    let master = await oneMaster();
    const gateway = continuousPing(fixed.wl, UPSTREAM);
    const floating = continuousPing(fixed.up, FLOATING_IP);
    pings.push(gateway, floating);
    await waitUntil('both paths answering', () => gateway.last() > 0 && floating.last() > 0, 30_000);

    /** @type {{ gateway: number[], floatingIp: number[] }} */
    const gaps = { gateway: [], floatingIp: [] };
    for (let i = 1; i <= opts.failovers; i++) {
      // replies on both paths from the current master before it dies
      const since = Math.max(gateway.last(), floating.last());
      await waitUntil('replies before the kill', () => gateway.last() > since && floating.last() > since, 30_000);
      // ping -D stamps replies with the wall clock, as Date.now() reads it
      const killStart = Date.now();
      await cutOff(master);
      const killEnd = Date.now();
      await waitUntil('both paths answering again', () => gateway.firstAfter(killEnd) !== undefined && floating.firstAfter(killEnd) !== undefined, 60_000);
      // the dead host's ports, processes and namespaces go after the failover (a namespace is
      // freed, with the veths in it, only once its last process is gone: its ports first)
      await runner.run(['ip', '-n', fixed.sw, '-batch', '-'], {
        input: switchPorts(master)
          .map((port) => `link del dev ${port}\n`)
          .join(''),
      });
      for (const r of routers) await removeNetnsWithProcesses(nsOf(master, r));
      await topo.exec(fixed.sw, ['nft', 'delete', 'table', 'bridge', 'ncp_bench_cut']);
      /** the last reply before the kill to the first after it @param {ReturnType<typeof continuousPing>} ping */
      const outage = (ping) => +((ping.firstAfter(killEnd) ?? NaN) - (ping.lastAtOrBefore(killStart) ?? NaN)).toFixed(1);
      const gap = { gateway: outage(gateway), floatingIp: outage(floating) };
      gaps.gateway.push(gap.gateway);
      gaps.floatingIp.push(gap.floatingIp);
      console.log(`failover ${i}/${opts.failovers} (host ${master} died): gateway path ${gap.gateway} ms, floating IP path ${gap.floatingIp} ms`);
      // the dead host comes back as a rebooted machine would: plugged afresh, its agent reconciles
      const dead = master;
      master = other(master);
      incarnation[dead]++;
      await plug(dead);
      await reconcile(dead);
      if ((await oneMaster()) !== master) throw new Error(`host ${dead} took the router back (nopreempt)`);
    }

    const result = {
      at: new Date().toISOString(),
      machine: machineSummary(),
      failovers: opts.failovers,
      routers: opts.routers,
      advertIntervalMs: opts['advert-ms'],
      pingIntervalMs: 100,
      gateway: latencySummary(gaps.gateway),
      floatingIp: latencySummary(gaps.floatingIp),
      samples: gaps,
    };
    console.log(
      `${opts.routers} HA router(s), VRRP adverts every ${opts['advert-ms']} ms; gateway path (workload -> upstream through SNAT), ${opts.failovers} failovers: ${latencyLine(result.gateway)}`,
    );
    console.log(`floating IP path (upstream -> floating IP), ${opts.failovers} failovers: ${latencyLine(result.floatingIp)}`);
    console.log('goal (issue 18): p99 under 3000 ms without BFD');
    saveResult(HERE, result);
  } finally {
    for (const ping of pings) ping.stop();
    await topo.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

runBench(main);
