#!/usr/bin/env node
// @ts-check
// HA router failover benchmark: the data plane's L3 driver (reconcileL3, keepalived in the
// router namespaces) on the real kernel, in namespaces it creates (needs root).
//
//   node bench/ha/run.mjs [--failovers 20]
//
// One HA router (SNAT, a floating IP) on two "hosts": each host's router namespace is plugged
// as the L2 driver plugs it (the same qr-/qg- ports and MACs on the tenant and external
// segments, its own HA port on the HA segment); the segments are bridges in a switch
// namespace. Two pings run all along, every 100 ms: a workload to the upstream through the
// router's SNAT (the gateway path), and the upstream to the workload's floating IP (the
// floating IP path). Each failover kills the master host: its ports leave the segments and
// its namespace is deleted with every process in it (keepalived killed without a goodbye),
// as when the machine dies. The clock per path runs from the last reply before the kill to
// the first reply after it (ping -D timestamps). The dead host then comes back (a new
// namespace, plugged and reconciled as an agent restarting on a rebooted host would), joins
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
const opts = parseBenchOptions(process.argv.slice(2), 'node bench/ha/run.mjs', {
  failovers: intOption('failovers, each killing the current master host', 20, 1, 1000),
});

const ROUTER = 'e9a1b2c3-0000-4000-8000-000000000001';
const PORT_QR = 'd5000001-0000-4000-8000-000000000001';
const PORT_QG = 'd5000002-0000-4000-8000-000000000002';
/** @type {Record<Host, string>} */
const HA_PORT = { a: 'd500000a-0000-4000-8000-00000000000a', b: 'd500000b-0000-4000-8000-00000000000b' };
/** @type {Record<Host, string>} */
const HA_ADDRESS = { a: '169.254.192.1/18', b: '169.254.192.2/18' };
const QR = routerInterfaceName('internal', PORT_QR);
const QG = routerInterfaceName('gateway', PORT_QG);
const MAC_QR = 'fa:16:3e:20:00:01';
const MAC_QG = 'fa:16:3e:20:00:02';
const VRID = 7;
const PRIMARY_VIP = `169.254.0.${VRID}/24`;
const UPSTREAM = '10.0.2.2';
const FLOATING_IP = '10.0.2.215';
const WORKLOAD = '172.16.100.10';

/** @typedef {'a' | 'b'} Host */
/** @param {Host} host @returns {Host} */
const other = (host) => (host === 'a' ? 'b' : 'a');

/**
 * The reply timestamps (ms, from ping -D) of a ping running in a namespace.
 * @param {string} ns
 * @param {string} target
 */
function continuousPing(ns, target) {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-D', '-i', '0.1', target]);
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
    /** @param {number} after */
    firstAfter: (after) => replies.find((t) => t > after),
    stop: () => child.kill('SIGINT'),
  };
}

async function main() {
  const topo = new Topology();
  const runner = new ExecFileRunner();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ncp-bench-ha-'));
  const id8 = ROUTER.slice(0, 8);
  const { ns, create } = topo.plan({ sw: 'sw', up: 'up', wl: 'wl' }, { a: `a-qrouter-${id8}`, b: `b-qrouter-${id8}` });
  const incarnation = { a: 0, b: 0 };
  /** @param {Host} host */
  const stateDir = (host) => path.join(tmp, `${host}-${incarnation[host]}`);
  /** @param {Host} host */
  const intent = (host) => ({
    id: ROUTER,
    namespace: ns[host],
    adminStateUp: true,
    interfaces: [
      { portId: PORT_QR, ifname: QR, kind: /** @type {const} */ ('internal'), addresses: ['172.16.100.1/24'] },
      { portId: PORT_QG, ifname: QG, kind: /** @type {const} */ ('gateway'), addresses: ['10.0.2.211/24'] },
    ],
    routes: [{ destination: '0.0.0.0/0', nexthop: UPSTREAM }],
    snat: [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: [] }],
    floatingIps: [{ id: 'f9000001-0000-4000-8000-000000000001', floatingIp: FLOATING_IP, fixedIp: WORKLOAD }],
    ha: { vrid: VRID, priority: 50, interface: { portId: HA_PORT[host], ifname: haInterfaceName(HA_PORT[host]), address: HA_ADDRESS[host] } },
  });
  /** @param {Host} host */
  const reconcile = async (host) => {
    const results = await reconcileL3([intent(host)], runner, { namespacePrefix: `${topo.prefix}${host}-qrouter-` }, { stateDir: stateDir(host) });
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`host ${host}: ${JSON.stringify(failed)}`);
  };
  /** What the L2 driver plugs on a host: the router's ports (same MACs on both) and its own HA port. @param {Host} host */
  const plug = async (host) => {
    const ha = haInterfaceName(HA_PORT[host]);
    await runner.run(['ip', 'netns', 'add', ns[host]]);
    const ports = [
      { dev: QR, sw: `${host}r`, bridge: 'brint' },
      { dev: QG, sw: `${host}g`, bridge: 'brext' },
      { dev: ha, sw: `${host}h`, bridge: 'brha' },
    ];
    for (const { dev, sw } of ports) await runner.run(['ip', '-n', ns[host], 'link', 'add', dev, 'type', 'veth', 'peer', 'name', sw, 'netns', ns.sw]);
    await runner.run(['ip', '-n', ns[host], 'link', 'set', 'dev', QR, 'address', MAC_QR]);
    await runner.run(['ip', '-n', ns[host], 'link', 'set', 'dev', QG, 'address', MAC_QG]);
    for (const dev of [QR, QG, ha]) await runner.run(['ip', '-n', ns[host], 'link', 'set', 'dev', dev, 'up']);
    for (const { sw, bridge } of ports) await runner.run(['ip', '-n', ns.sw, 'link', 'set', 'dev', sw, 'master', bridge, 'up']);
  };
  /** @param {Host} host */
  const isMaster = async (host) => {
    const { stdout } = await runner.run(['ip', '-n', ns[host], '-j', 'addr', 'show', 'dev', haInterfaceName(HA_PORT[host])]);
    const links = /** @type {{ addr_info: { local: string, prefixlen: number }[] }[]} */ (JSON.parse(stdout));
    return (links[0]?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === PRIMARY_VIP);
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
    for (const bridge of ['brint', 'brext', 'brha']) await topo.exec(ns.sw, ['ip', 'link', 'add', bridge, 'type', 'bridge']);
    await topo.addVethPair(ns.wl, 'eth0', ns.sw, 'w0');
    await topo.addVethPair(ns.up, 'ext', ns.sw, 'u0');
    await topo.exec(ns.sw, ['ip', 'link', 'set', 'dev', 'w0', 'master', 'brint', 'up']);
    await topo.exec(ns.sw, ['ip', 'link', 'set', 'dev', 'u0', 'master', 'brext', 'up']);
    for (const bridge of ['brint', 'brext', 'brha']) await topo.linkUp(ns.sw, bridge);
    await topo.linksUp([ns.wl, 'eth0'], [ns.up, 'ext']);
    await topo.addAddress(ns.up, 'ext', `${UPSTREAM}/24`);
    await topo.addAddress(ns.wl, 'eth0', `${WORKLOAD}/24`);
    await topo.addRoute(ns.wl, 'default', '172.16.100.1');
    for (const host of /** @type {const} */ (['a', 'b'])) {
      await plug(host);
      await reconcile(host);
    }
    let master = await oneMaster();
    const gateway = continuousPing(ns.wl, UPSTREAM);
    const floating = continuousPing(ns.up, FLOATING_IP);
    pings.push(gateway, floating);
    await waitUntil('both paths answering', () => gateway.last() > 0 && floating.last() > 0, 30_000);

    /** @type {{ gateway: number[], floatingIp: number[] }} */
    const gaps = { gateway: [], floatingIp: [] };
    for (let i = 1; i <= opts.failovers; i++) {
      // replies on both paths from the current master before it dies
      const since = Math.max(gateway.last(), floating.last());
      await waitUntil('replies before the kill', () => gateway.last() > since && floating.last() > since, 30_000);
      const lastBefore = { gateway: gateway.last(), floating: floating.last() };
      for (const port of ['h', 'r', 'g']) await runner.run(['ip', '-n', ns.sw, 'link', 'del', 'dev', `${master}${port}`]);
      await removeNetnsWithProcesses(ns[master]);
      await waitUntil(
        'both paths answering again',
        () => gateway.firstAfter(lastBefore.gateway) !== undefined && floating.firstAfter(lastBefore.floating) !== undefined,
        60_000,
      );
      const gap = {
        gateway: +((gateway.firstAfter(lastBefore.gateway) ?? 0) - lastBefore.gateway).toFixed(1),
        floatingIp: +((floating.firstAfter(lastBefore.floating) ?? 0) - lastBefore.floating).toFixed(1),
      };
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
      advertIntervalMs: 500,
      pingIntervalMs: 100,
      gateway: latencySummary(gaps.gateway),
      floatingIp: latencySummary(gaps.floatingIp),
      samples: gaps,
    };
    console.log(`gateway path (workload -> upstream through SNAT), ${opts.failovers} failovers: ${latencyLine(result.gateway)}`);
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
