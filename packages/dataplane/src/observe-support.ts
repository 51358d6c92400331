import { parseNetnsJson } from './l2/observed.js';
import { type CommandRunner } from './runner.js';

/** How many read-backs (one `ip` or `bridge` per namespace) an observer runs at once. */
export const OBSERVE_PARALLELISM = 8;

/** Runs `task` over `items`, at most `limit` at a time. */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The names of the machine's network namespaces: from the runner when it can list them, else `ip -j netns list`. */
export async function listNetns(runner: CommandRunner): Promise<string[]> {
  if (runner.listNetns !== undefined) return runner.listNetns();
  return parseNetnsJson((await runner.run(['ip', '-j', 'netns', 'list'])).stdout);
}
