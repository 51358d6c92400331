import { type CommandRunner } from '../runner.js';
import { stepsByItem } from '../steps.js';
import { type L2Item, type Step } from './plan.js';

export type ItemResult =
  | { readonly item: L2Item; readonly ok: true; readonly applied: number }
  | { readonly item: L2Item; readonly ok: false; readonly applied: number; readonly error: string; readonly failedStep: Step };

/**
 * Runs the steps item by item, in plan order. A failing command stops the rest of its own
 * item (later steps assume the earlier ones happened) and the other items go on; the failed
 * item stays different from its intent, so the next resync plans it again.
 */
export async function applyL2(steps: readonly Step[], runner: CommandRunner): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  for (const [item, group] of stepsByItem(steps)) {
    let applied = 0;
    let failure: { step: Step; error: string } | null = null;
    for (const step of group) {
      try {
        await runner.run(step.argv);
        applied += 1;
      } catch (error) {
        failure = { step, error: `${step.why}: ${error instanceof Error ? error.message : String(error)}` };
        break;
      }
    }
    results.push(failure === null ? { item, ok: true, applied } : { item, ok: false, applied, error: failure.error, failedStep: failure.step });
  }
  return results;
}
