import { outcomesByItem, runInBatches } from '../batch.js';
import { type CommandRunner } from '../runner.js';
import { type L3Item, type L3Step } from './plan.js';

export type L3ApplyResult =
  | { readonly item: L3Item; readonly ok: true; readonly applied: number; readonly warnings: readonly string[] }
  | {
      readonly item: L3Item;
      readonly ok: false;
      readonly applied: number;
      readonly warnings: readonly string[];
      readonly error: string;
      readonly failedStep: L3Step;
    };

/** conntrack -D exits 1 when nothing matched; that is "already clean", not a failure. */
const NOTHING_DELETED = /\b0 flow entries have been deleted\b/;

/**
 * Runs the steps in plan order. A failing command stops the rest of its own item (later steps
 * assume the earlier ones happened) and the other items go on; the failed item stays different
 * from its intent, so the next resync plans it again. Consecutive `ip` commands in one router
 * namespace share one `ip -batch` process (see `runInBatches`). Tolerated failures (see
 * `StepTolerance`) do not stop the item. Best-effort steps (gratuitous ARP) run in the
 * background: arping lingers a second waiting for replies that never come, and the agent must
 * not spend that second before its next change (a floating IP association would wait for
 * the previous one's announcement).
 */
export async function applyL3(steps: readonly L3Step[], runner: CommandRunner): Promise<L3ApplyResult[]> {
  const outcomes = await runInBatches(
    steps,
    runner,
    async (step) => {
      if (step.tolerate === 'best-effort') {
        runner.run(step.argv).catch(() => undefined);
        return { ok: true };
      }
      try {
        await runner.run(step.argv, step.input === undefined ? undefined : { input: step.input });
        return { ok: true };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return step.tolerate === 'no-flow-entries' && NOTHING_DELETED.test(message) ? { ok: true } : { ok: false, error: message };
      }
    },
    (step) => step.tolerate === undefined,
  );
  return outcomesByItem(steps, steps, outcomes).map(({ item, applied, failure }): L3ApplyResult =>
    failure === null ? { item, ok: true, applied, warnings: [] } : { item, ok: false, applied, warnings: [], error: failure.error, failedStep: failure.step },
  );
}
