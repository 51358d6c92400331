import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `read` until `ok` accepts its value, and returns that value; after `timeoutMs` it
 * fails with the last value and, from `context`, whatever explains it (a service's log).
 */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await sleep(opts.intervalMs ?? 150);
  }
  throw new Error(`${what}: ${JSON.stringify(last)}${opts.context ? `\n${opts.context()}` : ''}`);
}

/**
 * Polls `read` until `ok` accepts its value, and returns that value; a read that throws counts
 * as "not yet" (its message becomes the last value). After `timeoutMs` it fails with the last
 * value and, from `context`, whatever explains it (the agents' and services' logs).
 */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; context?: () => string | Promise<string> } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 40_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value;
      last = value;
    } catch (error) {
      last = error instanceof Error ? error.message : error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms${opts.context ? `\n${await opts.context()}` : ''}`);
    await sleep(opts.intervalMs ?? 250);
  }
}
