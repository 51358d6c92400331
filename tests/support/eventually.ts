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
