#!/usr/bin/env node
// @ts-check
// The L2 driver's planning for one bind, without the kernel: `planL2` on a host of N ports
// whose links all match their intent, when one more port is bound.
//
//   node bench/agent/plan-l2.mjs [--sizes 100,500,2000,5000] [--binds 200]
//
// Per size (ten ports per VXLAN network, and a network's ports in one workload namespace, as
// bench/agent spreads them), each of --binds passes adds one port, bound into one more
// namespace that all binds share, as bench/agent binds them, and plans it on the host as the last pass left it (the
// earlier binds' links read back, the rest the same objects, as the agent remembers them). Each
// pass is timed twice: the plan given the last plan's settled ports (what the agent does), and
// the plan of every port. Both must give the same steps: the benchmark stops if they differ. No
// root needed.

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bridgeName, ownerAlias, planL2, tapName, vxlanName } from '@ncp/dataplane';
import { intListOption, intOption, parseBenchOptions } from '../lib/options.mjs';
import { latencyLine, latencySummary, machineSummary, runBench, saveResult } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const opts = parseBenchOptions(process.argv.slice(2), 'node bench/agent/plan-l2.mjs', {
  sizes: intListOption('ports on the host before the binds, one run each', '100,500,2000,5000', 1),
  binds: intOption('ports bound one pass at a time, each timed', 200, 10),
});
const SIZES = opts.sizes;
const BINDS = Number(opts.binds);

const config = { netns: 'bench-host', tunnelIp: '10.77.0.2', physnets: {} };
const hex = (/** @type {number} */ n, /** @type {number} */ width) => n.toString(16).padStart(width, '0');
const networkId = (/** @type {number} */ n) => `${hex(n, 8)}-2a00-4000-8000-000000000000`;
const mac = (/** @type {number} */ i) => `fa:16:3e:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}`;
/**
 * A link as `ip -j -d link show` reads back, reduced as the driver keeps it.
 * @param {{ name: string } & Partial<import('@ncp/dataplane').ObservedLink>} fields
 * @returns {import('@ncp/dataplane').ObservedLink}
 */
const link = (fields) =>
  Object.freeze({ alias: null, kind: null, master: null, parent: null, mtu: 1450, up: true, address: null, vxlan: null, vlanId: null, ...fields });

/** Port `i` of a host of `size` ports on `networks`: the first `size` in their network's namespace, the binds in one. */
function port(/** @type {number} */ i, /** @type {number} */ size, /** @type {number} */ networks) {
  const bound = i >= size;
  /** @type {import('@ncp/contracts').L2PortIntent} */
  const entry = {
    id: `${hex(i, 8)}-2b00-4000-8000-${hex(i, 12)}`,
    networkId: networkId(i % networks),
    mac: mac(i),
    adminStateUp: true,
    workload: bound ? { netns: 'wbind', ifname: `b${i - size}` } : { netns: `w${i % networks}`, ifname: `e${Math.floor(i / networks)}` },
  };
  return Object.freeze(entry);
}

function network(/** @type {number} */ n) {
  const id = networkId(n);
  // frozen, as the agent's entries are (a settled port is known by its entry and its network's)
  /** @type {import('@ncp/contracts').L2NetworkIntent} */
  const intent = Object.freeze({
    id,
    mtu: 1450,
    segment: { networkType: /** @type {const} */ ('vxlan'), segmentationId: 1000 + n, physicalNetwork: null },
    floodList: [],
    remoteMacs: [],
  });
  const links = [
    link({ name: bridgeName(id), alias: ownerAlias('net', id), kind: 'bridge' }),
    link({
      name: vxlanName(id),
      alias: ownerAlias('vx', id),
      kind: 'vxlan',
      master: bridgeName(id),
      vxlan: { vni: 1000 + n, local: config.tunnelIp, port: 4789, learning: false },
    }),
  ];
  return { intent, links };
}

const hostEnd = (/** @type {ReturnType<typeof port>} */ p) =>
  link({ name: tapName(p.id), alias: ownerAlias('port', p.id), kind: 'veth', master: bridgeName(p.networkId) });
const workloadEnd = (/** @type {ReturnType<typeof port>} */ p) =>
  link({ name: p.workload.ifname, alias: ownerAlias('port', p.id), kind: 'veth', address: p.mac });
const loopback = link({ name: 'lo', mtu: 65536 });

/** @param {unknown} a @param {unknown} b */
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function main() {
  const result = { at: new Date().toISOString(), machine: machineSummary(), binds: BINDS, sizes: /** @type {Record<string, unknown>} */ ({}) };
  for (const size of SIZES) {
    const networks = Array.from({ length: Math.ceil(size / 10) }, (_, n) => network(n));
    const ports = Array.from({ length: size + BINDS }, (_, i) => port(i, size, networks.length));
    const hostLinks = [link({ name: 'lo', mtu: 65536 }), ...networks.flatMap((n) => n.links), ...ports.slice(0, size).map(hostEnd)];
    /** @type {Record<string, readonly import('@ncp/dataplane').ObservedLink[]>} */
    const workloadLinks = {};
    for (const p of ports.slice(0, size)) workloadLinks[p.workload.netns] = [...(workloadLinks[p.workload.netns] ?? [loopback]), workloadEnd(p)];
    const netns = Object.keys(workloadLinks);
    const intentOf = (/** @type {number} */ n) => ({ networks: networks.map((x) => x.intent), ports: ports.slice(0, n) });
    let settled = planL2(intentOf(size), config, { hostLinks, fdb: {}, netns, workloadLinks }).settled;
    const samples = { settled: /** @type {number[]} */ ([]), every: /** @type {number[]} */ ([]) };
    for (let k = 1; k <= BINDS; k++) {
      // the earlier binds' links, read back after their passes; the new port's are not there yet
      const earlier = ports.slice(size, size + k - 1);
      if (k > 1) workloadLinks.wbind = Object.freeze([loopback, ...earlier.map(workloadEnd)]);
      const observed = {
        hostLinks: k > 1 ? [...hostLinks, ...earlier.map(hostEnd)] : hostLinks,
        fdb: {},
        netns: k > 1 ? [...netns, 'wbind'] : netns,
        workloadLinks,
      };
      const intent = intentOf(size + k);
      let t0 = performance.now();
      const plan = planL2(intent, config, observed, settled);
      samples.settled.push(performance.now() - t0);
      t0 = performance.now();
      const whole = planL2(intent, config, observed);
      samples.every.push(performance.now() - t0);
      if (!same(plan.steps, whole.steps) || !same(plan.errors, whole.errors)) throw new Error(`bind ${k} of ${size}: the plans differ`);
      if (plan.steps.length === 0 || plan.errors.length > 0) throw new Error(`bind ${k} of ${size}: expected the new port's steps only`);
      settled = plan.settled;
    }
    const summary = { settled: latencySummary(samples.settled), every: latencySummary(samples.every) };
    result.sizes[String(size)] = summary;
    console.log(`${size} ports: a bind's L2 plan, settled ports spared: ${latencyLine(summary.settled)}`);
    console.log(`${' '.repeat(String(size).length)}        every port planned:    ${latencyLine(summary.every)}`);
  }
  saveResult(HERE, result);
}

runBench(main);
