#!/usr/bin/env node
// @ts-check
// The security groups driver's own work for one bind, without the kernel: what the agent's
// SecurityGroupsApplier computes before its `nft -f` when one more port joins a host whose
// ports are all in one group that names itself as remote group (Neutron's default group).
//
//   node bench/secgroups/render.mjs [--sizes 100,500,2000,5000] [--binds 200]
//
// Per size: the tables of a host with that many ports are built once (as the agent's first
// pass does), then --binds passes each add one port (its piece, and one member more in the
// group's member sets) and render the incremental transaction; each pass is timed
// (securityGroupTables + renderSecurityGroupsUpdate, with the applier's SgRenderCache). The
// intent's port objects are kept from pass to pass, as the agent's desired state keeps them;
// the members entry is new on every pass, as it is when a port joins. No root needed.

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SgRenderCache, renderSecurityGroupsUpdate, securityGroupTables } from '@ncp/dataplane';
import { intListOption, intOption, parseBenchOptions } from '../lib/options.mjs';
import { latencyLine, latencySummary, machineSummary, runBench, saveResult } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const opts = parseBenchOptions(process.argv.slice(2), 'node bench/secgroups/render.mjs', {
  sizes: intListOption('ports on the host before the binds, one run each', '100,500,2000,5000', 1),
  binds: intOption('ports added one pass at a time, each timed', 200, 10),
});
const SIZES = opts.sizes;
const BINDS = Number(opts.binds);

const GROUP = '5ec10000-0000-4000-8000-000000000000';
const hex = (/** @type {number} */ n, /** @type {number} */ width) => n.toString(16).padStart(width, '0');
/** ten ports per network, as bench/agent spreads them */
const networkId = (/** @type {number} */ i) => `${hex(Math.floor(i / 10), 8)}-5ec2-4000-8000-000000000000`;
const port = (/** @type {number} */ i) => ({
  id: `${hex(i, 8)}-5ec0-4000-8000-${hex(i, 12)}`,
  networkId: networkId(i),
  mac: `fa:16:3e:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}`,
  fixedIps: [`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `2001:db8::${hex(i, 1)}`],
  allowedAddressPairs: [],
  portSecurityEnabled: true,
  securityGroupIds: [GROUP],
});
const rule = (/** @type {'ingress' | 'egress'} */ direction, /** @type {'IPv4' | 'IPv6'} */ ethertype, /** @type {string | null} */ remoteGroupId) => ({
  direction,
  ethertype,
  protocol: null,
  portRangeMin: null,
  portRangeMax: null,
  remoteIpPrefix: null,
  remoteGroupId,
});
/** Neutron's default group: everything in from its own members, everything out */
const group = {
  id: GROUP,
  stateful: true,
  rules: [rule('ingress', 'IPv4', GROUP), rule('ingress', 'IPv6', GROUP), rule('egress', 'IPv4', null), rule('egress', 'IPv6', null)],
};

async function main() {
  const result = { at: new Date().toISOString(), machine: machineSummary(), binds: BINDS, sizes: /** @type {Record<string, unknown>} */ ({}) };
  for (const size of SIZES) {
    const ports = Array.from({ length: size + BINDS }, (_, i) => port(i));
    const intentOf = (/** @type {number} */ n) => {
      const on = ports.slice(0, n);
      return { ports: on, groups: [group], members: [{ groupId: GROUP, addresses: on.flatMap((p) => p.fixedIps) }] };
    };
    const zones = new Map(Array.from({ length: Math.ceil((size + BINDS) / 10) }, (_, n) => [networkId(n * 10), n + 1]));
    const cache = new SgRenderCache();
    let tables = securityGroupTables(intentOf(size), zones, cache);
    const samples = [];
    let bytes = 0;
    for (let k = 1; k <= BINDS; k++) {
      const intent = intentOf(size + k);
      const t0 = performance.now();
      const next = securityGroupTables(intent, zones, cache);
      const text = renderSecurityGroupsUpdate(tables, next);
      samples.push(performance.now() - t0);
      bytes = text.length;
      tables = next;
    }
    const summary = latencySummary(samples);
    result.sizes[String(size)] = { ...summary, transactionBytes: bytes };
    console.log(`${size} ports: a bind's tables and transaction (${bytes} bytes): ${latencyLine(summary)}`);
  }
  saveResult(HERE, result);
}

runBench(main);
