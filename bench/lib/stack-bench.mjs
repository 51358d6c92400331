// What the benchmarks that drive a TestStack through the gateway share.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** The p-th percentile of an ascending array (nearest rank). */
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** One call to the Neutron API of the stack; throws on any non-2xx answer. */
export async function api(stack, method, urlPath, body) {
  const res = await fetch(`${stack.url}${urlPath}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
  return text === '' ? {} : JSON.parse(text);
}

/** Polls `check` until it is true; `stop()` true aborts (Ctrl-C). */
export async function waitUntil(what, check, timeoutMs, { pollMs = 50, stop = () => false } = {}) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (stop()) throw new Error('interrupted');
    if (performance.now() > deadline) throw new Error(`${what}: timed out`);
    await sleep(pollMs);
  }
}

/** `<cpu model> x <cores>, <memory> GiB` */
export function machineSummary() {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? '?'} x ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
}

/** Writes `<dir>/results/<timestamp>.json` and returns its path. */
export function writeResult(dir, result) {
  mkdirSync(path.join(dir, 'results'), { recursive: true });
  const file = path.join(dir, 'results', `${result.at.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
