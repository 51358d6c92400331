import path from 'node:path';
import { isValidId } from '@ncp/contracts';
import { inParallel, listNetns } from '../observe-support.js';
import { type CommandRunner } from '../runner.js';
import { DEFAULT_DAEMON_TIMINGS, type DaemonTimings } from './daemon.js';
import { NodeDaemonHost, type DaemonHost } from './host.js';

/** An error's message (what the item results carry). */
export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export type ItemResult<P extends string, R extends object> =
  | ({ readonly item: `${P}:${string}`; readonly ok: true } & R)
  | { readonly item: 'sweep'; readonly ok: true }
  | { readonly item: `${P}:${string}` | 'sweep'; readonly ok: false; readonly error: string };

/**
 * The item loop of the daemon drivers (BGP speakers, metadata proxies): one result per intent,
 * in intent order, `<prefix>:<id>` (an id listed twice fails), then the sweep's, which gets
 * every wanted id in lower case. A failing intent is still wanted: its daemon keeps its last
 * good configuration. `concurrency`: how many intents are reconciled at once (each has its own
 * namespace, files and daemon); the sweep runs after all of them.
 */
export async function reconcileEach<P extends string, T, R extends object>(
  prefix: P,
  intents: readonly T[],
  idOf: (intent: T) => string,
  one: (intent: T) => Promise<R>,
  sweep: (wanted: ReadonlySet<string>) => Promise<void>,
  concurrency = 1,
): Promise<ItemResult<P, R>[]> {
  const results: ItemResult<P, R>[] = [];
  const wanted = new Set<string>();
  const work: { readonly intent: T; readonly item: `${P}:${string}`; readonly at: number }[] = [];
  for (const intent of intents) {
    const item = `${prefix}:${idOf(intent)}` as const;
    const id = idOf(intent).toLowerCase();
    if (wanted.has(id)) {
      results.push({ item, ok: false, error: `${item} is listed twice` });
      continue;
    }
    wanted.add(id);
    work.push({ intent, item, at: results.length });
    results.push({ item, ok: false, error: 'not reconciled' });
  }
  await inParallel(work, concurrency, async ({ intent, item, at }) => {
    try {
      results[at] = { item, ok: true, ...(await one(intent)) };
    } catch (error) {
      results[at] = { item, ok: false, error: errorMessage(error) };
    }
  });
  try {
    await sweep(wanted);
    results.push({ item: 'sweep', ok: true });
  } catch (error) {
    results.push({ item: 'sweep', ok: false, error: errorMessage(error) });
  }
  return results;
}

/**
 * Stops what runs from every state directory under `dir` that no intent wants (`stop` gets its
 * id). Only directories named by a lower-case id are considered: anything else there is not
 * ours to remove. Every stale one is tried; the failures are thrown together.
 */
export async function sweepStateDirs(
  host: DaemonHost,
  dir: string,
  wanted: ReadonlySet<string>,
  what: string,
  stop: (id: string) => Promise<void>,
): Promise<void> {
  const failures: string[] = [];
  const stale = (await host.listDirs(path.posix.join(dir))).filter((id) => isValidId(id) && id === id.toLowerCase() && !wanted.has(id));
  for (const id of stale) {
    try {
      await stop(id);
    } catch (error) {
      failures.push(`${what} ${id}: ${errorMessage(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/** What a daemon driver's pass works with besides its own configuration. */
export interface DaemonPass {
  readonly host: DaemonHost;
  readonly timings: DaemonTimings;
  /** the namespaces that exist as the pass starts */
  readonly netns: string[];
}

/**
 * The start of a daemon driver's pass: the process host and timings (defaults unless given),
 * and the namespaces. A failure to list them is not thrown but becomes every item's result,
 * which the driver returns as it is.
 */
export async function startDaemonPass<I extends string>(
  runner: CommandRunner,
  options: { readonly host?: DaemonHost; readonly timings?: Partial<DaemonTimings> },
  items: readonly I[],
): Promise<DaemonPass | { readonly failed: { item: I; ok: false; error: string }[] }> {
  const host = options.host ?? new NodeDaemonHost();
  const timings = { ...DEFAULT_DAEMON_TIMINGS, ...options.timings };
  try {
    return { host, timings, netns: await listNetns(runner) };
  } catch (error) {
    const failure = `reading the namespaces failed: ${errorMessage(error)}`;
    return { failed: items.map((item) => ({ item, ok: false, error: failure })) };
  }
}
