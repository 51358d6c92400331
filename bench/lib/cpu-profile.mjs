// @ts-check
// What a benchmark's --profile needs: the services' profiler preload, and where a profile's
// time went, by package.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const PROFILE_PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cpu-profile-preload.cjs');

/**
 * The environment that makes the services started after it load the preload: profiles go to `dir`.
 * @param {string} dir
 */
export function enableServiceProfiles(dir) {
  process.env.NCP_PROFILE_DIR = dir;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${PROFILE_PRELOAD}`.trim();
}

/**
 * Starts, or stops and writes, every service's profile (SIGWINCH, see the preload).
 * @param {Record<string, number | undefined>} pids by service
 */
export function toggleServiceProfiles(pids) {
  for (const pid of Object.values(pids)) if (pid) process.kill(pid, 'SIGWINCH');
}

/**
 * Waits for `<dir>/<service>-<n>.cpuprofile` of every service (written as each stops).
 * @param {string} dir
 * @param {string[]} services
 * @param {number} n
 */
export async function profilesWritten(dir, services, n) {
  const files = services.map((s) => path.join(dir, `${s}-${n}.cpuprofile`));
  for (let i = 0; i < 100 && !files.every((f) => existsSync(f)); i++) await sleep(100);
  return files.filter((f) => existsSync(f));
}

/**
 * Shares of a profile's samples by where the code came from: the package under node_modules,
 * this repository's code (`ours`), or V8's own (idle, garbage collector, Node's internals).
 * @param {string} file a .cpuprofile
 * @returns {[string, number][]} largest first, in % of the samples
 */
export function profileByPackage(file) {
  /** @type {{ nodes: { id: number, callFrame: { functionName: string, url: string } }[], samples: number[], timeDeltas: number[] }} */
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const origin = new Map(
    profile.nodes.map((n) => {
      const url = n.callFrame.url;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
      const what = pkg ?? (/\/(apps|packages)\//.test(url) ? 'ours' : url === '' ? n.callFrame.functionName : 'node internals');
      return [n.id, what];
    }),
  );
  /** @type {Map<string, number>} */
  const time = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const what = origin.get(id) ?? '?';
    time.set(what, (time.get(what) ?? 0) + dt);
    total += dt;
  });
  return [...time].map(([what, t]) => /** @type {[string, number]} */ ([what, Math.round((1000 * t) / (total || 1)) / 10])).sort((a, b) => b[1] - a[1]);
}
