#!/usr/bin/env node
// @ts-check
// Security groups benchmark: the data plane's SecurityGroupsApplier (what the agent calls to
// apply a host's filtering) on the real kernel, in namespaces it creates (needs root).
//
//   node bench/secgroups/run.mjs [--sizes 500,100,1000] [--changes 100] [--joins 100]
//
// One host namespace per size (all sizes side by side) with a bridge and four workload
// namespaces on it (veth, real MAC and address), each a port of the intent; the other ports
// are entries of the intent whose taps do not exist (filtered all the same: dispatch entries,
// sources). 50 groups of 20 rules, four of them naming a remote group; each group's members
// are its ports here and 20 addresses on other hosts.
//  a. cold start, per size: a new applier (no memory, as after an agent restart) replaces
//     tables in which the probe is refused with the whole intent; clock from the apply call to
//     the first reply of a ping that only a remote-group rule of the new tables lets through;
//  b. --changes rule changes: a rule added to the probed group, clock from the apply call to
//     the first reply of a ping it lets through (then taken away again, untimed);
//  c. --joins group joins: a port joins the group the probed group accepts ICMP from (its
//     groups and the group's members change), clock from the apply call to the first reply
//     of the joining port's ping to its new peer (then it leaves again, untimed).
// b and c go round the sizes change by change, so that every size sees the same load. Each
// apply gets new objects (a clone, made before the clock starts), as the agent parses its
// desired state afresh on every pass. Each probe is a new `ping -i 0.005 -c 1` spawned just
// before the apply call (a new ICMP id, so a new connection the rules decide on; conntrack
// is flushed between changes). Results go to bench/secgroups/results/<timestamp>.json. See
// README.md beside this file.

import { spawn, execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ExecFileRunner, SecurityGroupsApplier, tapName, bridgeName } from '@ncp/dataplane';
import { Topology } from '@ncp/testing';
import { intListOption, intOption, parseBenchOptions } from '../lib/options.mjs';
import { latencyLine, latencySummary, machineSummary, runBench, saveResult } from '../lib/stack-bench.mjs';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const opts = parseBenchOptions(process.argv.slice(2), 'node bench/secgroups/run.mjs', {
  sizes: intListOption('ports on the host, one run each (the first is the cold start of a fresh process)', '500,100,1000', 4),
  changes: intOption('rule changes per size, each timed until enforced', 100, 1),
  joins: intOption('group joins per size, each timed until the peer accepts', 100, 1),
});
const SIZES = opts.sizes;

const GROUPS = 50;
const NET = '5ec00000-0000-4000-8000-000000000001';
const hex = (/** @type {number} */ n, /** @type {number} */ width) => n.toString(16).padStart(width, '0');
const groupId = (/** @type {number} */ g) => `5ec1${hex(g, 4)}-0000-4000-8000-${hex(g, 12)}`;
/** port i: its first 11 hex digits (its tap) are its own */
const portId = (/** @type {number} */ i) => `${hex(i, 8)}-5ec0-4000-8000-${hex(i, 12)}`;
const portIp = (/** @type {number} */ i) => `10.64.${(i + 1) >> 8}.${(i + 1) & 255}`;
const portMac = (/** @type {number} */ i) => `fa:16:3e:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}`;

/**
 * The real workloads, ports 0-3: w0 in group 1, which group 0 accepts ICMP from; w1 in
 * group 0, the one probed; w2 in group 2 (nothing lets it reach w1 until a rule does); w3 in
 * group 3 (until it joins group 1).
 */
const WORKLOADS = [{ groups: [1] }, { groups: [0] }, { groups: [2] }, { groups: [3] }];
const [PROBED, CHANGER, JOINER] = [1, 2, 3];

/** @typedef {import('@ncp/contracts').SgRuleIntent} Rule */
/** @typedef {import('@ncp/contracts').SgHostIntent} Intent */
const any = { protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null };
/** @returns {Rule} */
const rule = (/** @type {Partial<Rule>} */ over) => ({ direction: 'ingress', ethertype: 'IPv4', ...any, ...over });

/** Group g's 20 rules: egress open, four naming a remote group (g+1 for ICMP), the rest TCP/UDP from prefixes. */
function groupRules(/** @type {number} */ g) {
  const remote = (/** @type {number} */ k) => groupId((g + k) % GROUPS);
  /** @type {Rule[]} */
  const rules = [
    rule({ direction: 'egress' }),
    rule({ direction: 'egress', ethertype: 'IPv6' }),
    rule({ protocol: 1, remoteGroupId: remote(1) }),
    rule({ protocol: 6, portRangeMin: 22, portRangeMax: 22, remoteGroupId: remote(0) }),
    rule({ ethertype: 'IPv6', protocol: 58, remoteGroupId: remote(2) }),
    rule({ protocol: 6, portRangeMin: 443, portRangeMax: 443, remoteGroupId: remote(3) }),
  ];
  for (let k = rules.length; k < 20; k++) {
    rules.push(
      rule({ protocol: k % 2 === 0 ? 6 : 17, portRangeMin: 8000 + k * 10, portRangeMax: 8000 + k * 10 + (k % 3), remoteIpPrefix: `198.51.${k}.0/24` }),
    );
  }
  return rules;
}

/**
 * A host with `size` ports: the four workloads, then ports spread over the 50 groups. Each
 * group's members are its ports here and 20 addresses on other hosts.
 * @param {number} size
 * @param {{ extraRule?: Rule, joined?: boolean }} change
 * @returns {Intent}
 */
function hostIntent(size, change = {}) {
  const ports = Array.from({ length: size }, (_, i) => {
    const groups = i < WORKLOADS.length ? [...(WORKLOADS[i]?.groups ?? [])] : [i % GROUPS];
    if (i === JOINER && change.joined) groups.push(1);
    return {
      id: portId(i),
      networkId: NET,
      mac: portMac(i),
      fixedIps: [portIp(i)],
      allowedAddressPairs: [],
      portSecurityEnabled: true,
      securityGroupIds: groups.map(groupId),
    };
  });
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    id: groupId(g),
    stateful: true,
    rules: g === 0 && change.extraRule ? [...groupRules(g), change.extraRule] : groupRules(g),
  }));
  const members = groups.map((group, g) => ({
    groupId: group.id,
    addresses: [
      ...ports.flatMap((p) => (p.securityGroupIds.includes(group.id) ? p.fixedIps : [])),
      ...Array.from({ length: 20 }, (_, k) => `10.200.${g}.${k + 1}`),
    ],
  }));
  return { ports, groups, members };
}

/** Where the probe is refused: the workloads only, in groups without rules. */
const blocked = () => {
  const { ports } = hostIntent(WORKLOADS.length);
  return { ports, groups: ports.flatMap((p) => p.securityGroupIds).map((id) => ({ id, stateful: true, rules: [] })), members: [] };
};

/** Epoch milliseconds, to a microsecond (ping -D prints its reply times so). */
const epochMs = () => performance.timeOrigin + performance.now();

/**
 * A new ping (a new ICMP id: a new connection) from a namespace, one request every 5 ms
 * until the first reply: its time (epoch ms, from ping -D).
 * @param {string} ns
 * @param {string} target
 * @returns {Promise<number>}
 */
function firstReply(ns, target) {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-D', '-c', '1', '-i', '0.005', '-w', '10', target]);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      const at = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(output)?.[1];
      if (code === 0 && at !== undefined) resolve(Number(at) * 1000);
      else reject(new Error(`no reply from ${target} within 10 s:\n${output}`));
    }),
  );
}

/** True if one ping gets through within a second (only to check the probes start refused). */
const answers = (/** @type {string} */ ns, /** @type {string} */ target) =>
  run('ip', ['netns', 'exec', ns, 'ping', '-n', '-c', '1', '-W', '1', target]).then(
    () => true,
    () => false,
  );

/** The real runner, keeping the size of each transaction it loads and how long `nft -f` took. */
function measuredRunner() {
  const real = new ExecFileRunner();
  /** @type {{ bytes: number, ms: number }[]} */
  const loads = [];
  /** @type {import('@ncp/dataplane').CommandRunner} */
  const runner = {
    run: async (argv, options) => {
      if (options?.input === undefined) return real.run(argv, options);
      const start = performance.now();
      const result = await real.run(argv, options);
      loads.push({ bytes: options.input.length, ms: performance.now() - start });
      return result;
    },
  };
  return { runner, loads };
}

const loadAverage = () => os.loadavg().map((l) => +l.toFixed(2));

/**
 * One host per size, side by side: its namespace, a bridge, and the four workloads on it.
 * @param {Topology} topo
 * @param {number} size
 */
async function makeSite(topo, size) {
  const host = await topo.addNetns(`sg${size}h`);
  /** @type {string[]} */
  const workloads = [];
  for (const [i] of WORKLOADS.entries()) {
    const w = await topo.addNetns(`sg${size}w${i}`);
    workloads.push(w);
    await topo.addVethPair(host, tapName(portId(i)), w, 'eth0');
    // the MAC before the link is up: its link-local address is made from it
    await topo.exec(w, ['ip', 'link', 'set', 'eth0', 'address', portMac(i)]);
    await topo.linkUp(w, 'eth0');
    await topo.addAddress(w, 'eth0', `${portIp(i)}/16`);
  }
  await topo.bridge(
    host,
    bridgeName(NET),
    WORKLOADS.map((_, i) => tapName(portId(i))),
  );
  // neighbours resolved before any filtering, so that no probe waits on ARP
  for (const i of [0, CHANGER, JOINER]) await firstReply(workloads[i] ?? '', portIp(PROBED));
  const { runner, loads } = measuredRunner();
  return {
    size,
    host,
    intent: hostIntent(size),
    applier: new SecurityGroupsApplier(runner, { netns: host }),
    loads,
    ns: (/** @type {number} */ i) => workloads[i] ?? '',
    flush: () => topo.exec(host, ['conntrack', '-F']).catch(() => undefined),
  };
}

/** @typedef {Awaited<ReturnType<typeof makeSite>>} Site */

/**
 * a. A new applier (no memory) replaces tables where the probe is refused with the whole
 * intent; from the apply call to the first reply the new tables let through.
 * @param {Topology} topo
 * @param {Site} site
 */
async function coldStart(topo, site) {
  await new SecurityGroupsApplier(new ExecFileRunner(), { netns: site.host }).apply(blocked());
  await site.flush();
  if (await answers(site.ns(0), portIp(PROBED))) throw new Error('the cold start probe is not refused before the start');
  const reply = firstReply(site.ns(0), portIp(PROBED));
  const t0 = epochMs();
  const applied = await site.applier.apply(site.intent);
  const applyMs = epochMs() - t0;
  if (!applied.ok) throw new Error(applied.error);
  const load = site.loads.at(-1);
  const result = { applyMs: +applyMs.toFixed(1), enforcedMs: +((await reply) - t0).toFixed(1), nftMs: +(load?.ms ?? 0).toFixed(1), bytes: load?.bytes };
  const filtered = (await topo.exec(site.host, ['nft', '-j', 'list', 'set', 'bridge', 'ncp_sg', 'ports'])).match(/"tap/g)?.length ?? 0;
  if (filtered !== site.size) throw new Error(`${filtered} ports in the bridge table, not ${site.size}`);
  console.log(
    `${site.size} ports, cold start: applied in ${result.applyMs} ms (nft -f ${result.nftMs} ms, ${result.bytes} bytes), first reply after ${result.enforcedMs} ms`,
  );
  return result;
}

/**
 * b and c: `count` changes on each site in turn (so that every size sees the same load),
 * each timed from the apply call to the first reply of a new ping from workload `from`,
 * then undone (untimed) and conntrack flushed.
 * @param {Site[]} sites
 * @param {number} count
 * @param {number} from
 * @param {(size: number) => Intent} changed
 * @param {string} what
 */
async function timedChanges(sites, count, from, changed, what) {
  for (const site of sites) if (await answers(site.ns(from), portIp(PROBED))) throw new Error(`w${from} reaches the probed port before the ${what}`);
  const samples = sites.map(() => ({
    apply: /** @type {number[]} */ ([]),
    nft: /** @type {number[]} */ ([]),
    enforced: /** @type {number[]} */ ([]),
    bytes: 0,
  }));
  const intents = sites.map((site) => changed(site.size));
  for (let k = 0; k < count; k++) {
    for (const [i, site] of sites.entries()) {
      const s = samples[i];
      if (s === undefined) continue;
      // new objects each time, as the agent parses its desired state afresh on each pass
      const next = structuredClone(intents[i] ?? site.intent);
      // the probe is spawned first (its requests until the commit are dropped), so that
      // starting a process is not counted as the apply's
      const replied = firstReply(site.ns(from), portIp(PROBED));
      const start = epochMs();
      const r = await site.applier.apply(next);
      s.apply.push(epochMs() - start);
      if (!r.ok) throw new Error(r.error);
      s.enforced.push((await replied) - start);
      const load = site.loads.at(-1);
      if (load === undefined) throw new Error(`the ${what} sent no transaction`);
      s.nft.push(load.ms);
      s.bytes = Math.max(s.bytes, load.bytes);
      const back = await site.applier.apply(structuredClone(site.intent));
      if (!back.ok) throw new Error(back.error);
      await site.flush();
    }
  }
  return new Map(
    sites.map((site, i) => {
      const s = samples[i] ?? { apply: [], nft: [], enforced: [], bytes: 0 };
      const result = { applyMs: latencySummary(s.apply), nftMs: latencySummary(s.nft), enforcedMs: latencySummary(s.enforced), bytes: s.bytes };
      console.log(
        `${site.size} ports, ${what} (${result.bytes} bytes):\n  apply ${latencyLine(result.applyMs)}\n  of which nft -f ${latencyLine(result.nftMs)}\n  enforced ${latencyLine(result.enforcedMs)}`,
      );
      return [site.size, result];
    }),
  );
}

async function main() {
  const topo = new Topology();
  /** @type {import('../lib/stack-bench.mjs').BenchResult} */
  const result = { at: new Date().toISOString(), machine: machineSummary(), loadAverageAtStart: loadAverage(), sizes: {} };
  try {
    /** @type {Site[]} */
    const sites = [];
    for (const size of SIZES) sites.push(await makeSite(topo, size));
    const cold = new Map();
    for (const site of sites) cold.set(site.size, await coldStart(topo, site));
    // b. a rule added to group 0 lets w2 in
    const extraRule = rule({ protocol: 1, remoteIpPrefix: `${portIp(CHANGER)}/32` });
    const ruleChanges = await timedChanges(sites, opts.changes, CHANGER, (size) => hostIntent(size, { extraRule }), 'rule change');
    // c. w3 joins group 1, whose members group 0 accepts ICMP from
    const joins = await timedChanges(sites, opts.joins, JOINER, (size) => hostIntent(size, { joined: true }), 'group join');
    for (const size of SIZES) {
      /** @type {Record<string, unknown>} */ (result.sizes)[String(size)] = {
        coldStart: cold.get(size),
        ruleChange: ruleChanges.get(size),
        join: joins.get(size),
      };
    }
  } finally {
    result.loadAverageAtEnd = loadAverage();
    await topo.destroy();
  }
  console.log(`load average at start ${String(result.loadAverageAtStart)}, at end ${String(result.loadAverageAtEnd)}`);
  saveResult(HERE, result);
}

runBench(main);
