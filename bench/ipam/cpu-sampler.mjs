// @ts-check
// CPU accounting for bench/ipam/run.mjs, run in a worker thread so that reading /proc
// once a second never blocks the benchmark client's event loop (which would inflate the
// latencies it measures). Linux only; elsewhere it reports nothing.
//
// Every second it reads utime+stime of every process and the machine totals. A process's
// use during a phase is (last reading) - (reading at phase start), or its whole life if it
// was born during the phase, so processes that come and go (Postgres backends the pool
// recycles, other people's test runs) are counted up to the last second they were seen.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { percentile } from '../lib/stack-bench.mjs';

/**
 * @param {number | null | undefined} x
 * @returns {number | null}
 */
const round = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits);

/** @typedef {{ user: number, system: number, idle: number, iowait: number, irq: number, steal: number, total: number }} Jiffies */
/** @typedef {Map<number, { comm: string, cpu: number }>} Processes */
/**
 * What the sampler has seen since `start`.
 * @typedef {object} SamplerState
 * @property {Map<number, string>} names the named pids
 * @property {boolean} haveServicePids
 * @property {string | null} dbName
 * @property {Map<number, string>} pgArgs a Postgres process's command line
 * @property {Map<number, { comm: string, label: string, base: number, last: number }>} perPid CPU seconds at the start and last seen
 * @property {Record<string, number[]>} series per-second use of the named pids and the machine
 * @property {boolean} started
 * @property {{ at: number, procs: Processes, machine: Jiffies | null } | null} prev
 * @property {{ at: number, machine: Jiffies | null } | null} first
 */

// ---------------------------------------------------------------------------- main-thread API

/**
 * Starts sampling. `pids` names processes to report on their own ({ ipam: 123, ... });
 * `dbName` tells this benchmark's Postgres backends from others. Resolves to { stop() },
 * whose promise gives the phase's figures (null where /proc is missing).
 */
/**
 * @param {Record<string, number | undefined>} pids
 * @param {string | null} dbName
 * @returns {Promise<{ stop: () => Promise<unknown> }>}
 */
export async function startCpuSampler(pids, dbName, intervalMs = 1000) {
  const worker = new Worker(new URL(import.meta.url), { workerData: null });
  worker.unref();
  const ready = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  worker.postMessage({ type: 'start', pids, dbName, intervalMs });
  await ready;
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (result) => {
          void worker.terminate();
          resolve(result);
        });
        worker.once('error', () => resolve(null));
        worker.postMessage({ type: 'stop' });
      }),
  };
}

// ---------------------------------------------------------------------------- worker

let CLK_TCK = 100;

/** @returns {Processes | null} */
function readProcesses() {
  /** @type {Processes} */
  const out = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const e of entries) {
    if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      out.set(Number(e), { comm, cpu: (Number(fields[11]) + Number(fields[12])) / CLK_TCK });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** @returns {Jiffies | null} */
function machineJiffies() {
  try {
    const n = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
    return { user: user + nice, system, idle, iowait, irq: irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    return null;
  }
}

function runWorker() {
  try {
    CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    /* keep 100 */
  }
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  /** @type {SamplerState} */
  let state = {
    names: new Map(),
    haveServicePids: false,
    dbName: null,
    pgArgs: new Map(),
    perPid: new Map(),
    series: {},
    started: false,
    prev: null,
    first: null,
  };

  /**
   * Label of a process: a named pid, or its command grouped (Postgres by database).
   * @param {number} pid
   * @param {string} comm
   */
  const labelOf = (pid, comm) => {
    const named = state.names.get(pid);
    if (named) return named;
    if (comm.startsWith('kworker')) return 'kworker (kernel)';
    if (comm === 'postgres') {
      let args = state.pgArgs.get(pid);
      if (args === undefined) {
        try {
          // "postgres: 15/main: user database host(port) state" for a backend.
          args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        } catch {
          args = '';
        }
        state.pgArgs.set(pid, args);
      }
      const backend = /^postgres: (?:[^:]+: )?\S+ (\S+) \S+\(\d+\)/.exec(args);
      if (!backend) return 'postgres (server)';
      if (state.dbName === null) return 'postgres (backends)';
      return backend[1] === state.dbName ? 'postgres (bench db)' : 'postgres (other dbs)';
    }
    if (comm === 'node' && state.haveServicePids) return 'node (not this benchmark)';
    return comm;
  };

  const sample = () => {
    const now = performance.now();
    const procs = readProcesses();
    const machine = machineJiffies();
    if (procs) {
      for (const [pid, p] of procs) {
        const known = state.perPid.get(pid);
        // Same pid and its time did not go back: the same process (kernel workers rename
        // themselves as they go). Otherwise a new one.
        if (known && p.cpu >= known.last) known.last = p.cpu;
        else state.perPid.set(pid, { comm: p.comm, label: labelOf(pid, p.comm), base: state.started ? 0 : p.cpu, last: p.cpu });
      }
      // Per-second use of the named pids, to see peaks the phase average hides.
      if (state.prev) {
        const wall = (now - state.prev.at) / 1000;
        for (const [pid, name] of state.names) {
          const a = state.prev.procs.get(pid);
          const b = procs.get(pid);
          if (a && b) state.series[name]?.push(((b.cpu - a.cpu) / wall) * 100);
        }
        if (machine && state.prev.machine && machine.total > state.prev.machine.total) {
          const t = machine.total - state.prev.machine.total;
          state.series.machine_busy?.push(100 - ((machine.idle - state.prev.machine.idle + machine.iowait - state.prev.machine.iowait) / t) * 100);
        }
      }
    }
    state.prev = { at: now, procs: procs ?? new Map(), machine };
    if (!state.first) state.first = { at: now, machine };
    state.started = true;
  };

  const result = () => {
    const { prev, first } = state;
    if (!prev || !first) return null;
    const wall = (prev.at - first.at) / 1000;
    if (!(wall > 0) || state.perPid.size === 0) return null;
    /** @param {number} s */
    const pct = (s) => round((s / wall) * 100);
    /** @type {Map<string, number>} */
    const used = new Map();
    for (const p of state.perPid.values()) {
      const d = p.last - p.base;
      if (d > 0) used.set(p.label, (used.get(p.label) ?? 0) + d);
    }
    const names = [...state.names.values()];
    /** @type {Record<string, number | null>} */
    const processes = {};
    for (const name of names) processes[name] = pct(used.get(name) ?? 0);
    const others = [...used.entries()].filter(([k]) => !names.includes(k)).sort((x, y) => y[1] - x[1]);
    for (const [k, s] of others.slice(0, 8)) if ((pct(s) ?? 0) >= 0.5) processes[k] = pct(s);

    let machine = null;
    const a = first.machine;
    const b = prev.machine;
    if (a && b && b.total > a.total) {
      const total = b.total - a.total;
      /** @param {keyof Jiffies} k */
      const share = (k) => round(((b[k] - a[k]) / total) * 100);
      machine = {
        busy_pct: round(100 - ((b.idle - a.idle + b.iowait - a.iowait) / total) * 100),
        user_pct: share('user'),
        system_pct: share('system'),
        irq_pct: share('irq'),
        iowait_pct: share('iowait'),
        steal_pct: share('steal'),
      };
    }
    // The benchmark's own processes; everything else on the machine is "other load".
    const ours = new Set([
      ...names,
      ...(state.haveServicePids ? [] : ['node']),
      'postgres (bench db)',
      'postgres (backends)',
      'postgres (server)',
      'nats-server',
      'kworker (kernel)',
    ]);
    const oursPct = [...used.entries()].filter(([k]) => ours.has(k)).reduce((x, [, v]) => x + (v / wall) * 100, 0);
    const seenOther = [...used.entries()].filter(([k]) => !ours.has(k)).reduce((x, [, v]) => x + (v / wall) * 100, 0);
    // Busy time nobody accounts for (processes shorter than a sample, interrupts) is other load too.
    const otherLoad = machine ? Math.max(seenOther, (machine.busy_pct ?? 0) * os.cpus().length - oursPct) : seenOther;

    /** @type {Record<string, { samples: number, p50: number | null, p90: number | null, max: number | null } | null>} */
    const perSecond = {};
    for (const [k, values] of Object.entries(state.series)) {
      const sorted = [...values].sort((x, y) => x - y);
      perSecond[k] = sorted.length
        ? { samples: sorted.length, p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), max: round(sorted.at(-1)) }
        : null;
    }
    return {
      wall_s: round(wall, 2),
      pct_of_one_core: processes,
      other_load_pct_of_one_core: round(otherLoad),
      machine_pct_of_all_cores: machine,
      per_second: perSecond,
    };
  };

  const port = parentPort;
  if (!port) return;
  port.on(
    'message',
    (/** @type {{ type: 'start', pids: Record<string, number | undefined>, dbName?: string | null, intervalMs: number } | { type: 'stop' }} */ msg) => {
      if (msg.type === 'start') {
        /** @type {Map<number, string>} */
        const names = new Map();
        for (const [name, pid] of Object.entries(msg.pids)) if (pid) names.set(pid, name);
        state = {
          names,
          haveServicePids: Object.keys(msg.pids).some((k) => k === 'ipam' && msg.pids[k]),
          dbName: msg.dbName ?? null,
          pgArgs: new Map(),
          perPid: new Map(),
          series: Object.fromEntries([...names.values(), 'machine_busy'].map((k) => [k, /** @type {number[]} */ ([])])),
          started: false,
          prev: null,
          first: null,
        };
        sample();
        timer = setInterval(sample, msg.intervalMs);
        port.postMessage({ type: 'started' });
      } else if (msg.type === 'stop') {
        clearInterval(timer);
        sample();
        let out = null;
        try {
          out = result();
        } catch {
          out = null;
        }
        port.postMessage(out);
      }
    },
  );
}

if (!isMainThread) runWorker();
