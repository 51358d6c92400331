import { outcomesByItem, runInBatches } from '../batch.js';
import { type CommandRunner } from '../runner.js';
import { type L2Item, type Step } from './plan.js';

export type ItemResult =
  | { readonly item: L2Item; readonly ok: true; readonly applied: number }
  | { readonly item: L2Item; readonly ok: false; readonly applied: number; readonly error: string; readonly failedStep: Step };

/**
 * Runs the plan. A failing command stops the rest of its own item (later steps assume the
 * earlier ones happened) and the other items go on; the failed item stays different from its
 * intent, so the next resync plans it again. Results come item by item, in plan order.
 *
 * The steps run in an order that lets long runs of them share an `ip -batch` process
 * (`hostNs`: the host's namespace, null for the root one): first the new workload namespaces,
 * then the host namespace's `ip` steps in plan order, its `bridge` (fdb) steps, and last each
 * workload namespace's steps. That keeps every dependency of the plan's order: a port's host
 * end exists (and its bridge, before it is enslaved) before its workload end is set, a VXLAN
 * device before its fdb, a namespace before the veth moved into it; and workload namespaces
 * do not depend on one another.
 */
export async function applyL2(steps: readonly Step[], runner: CommandRunner, hostNs: string | null = null): Promise<ItemResult[]> {
  const ordered = inBatchOrder(steps, hostNs);
  const outcomes = await runInBatches(ordered, runner);
  return outcomesByItem(steps, ordered, outcomes).map(({ item, applied, failure }) =>
    failure === null ? { item, ok: true, applied } : { item, ok: false, applied, error: failure.error, failedStep: failure.step },
  );
}

/**
 * The run order described above. Stable, and a step never goes before an earlier step of its
 * item: it takes the later of its own place and theirs (so a plan in another order stays right,
 * only batched less).
 */
function inBatchOrder(steps: readonly Step[], hostNs: string | null): Step[] {
  const namespaceOf = (argv: readonly string[]): string | null => (argv[1] === '-n' ? (argv[2] ?? null) : null);
  const workloadRank = new Map<string | null, number>();
  const ownRank = (s: Step): number => {
    const [tool, object, verb] = s.argv;
    if (tool === 'ip' && object === 'netns' && verb === 'add') return 0;
    const ns = namespaceOf(s.argv);
    if (ns === hostNs) return tool === 'bridge' ? 2 : 1;
    if (!workloadRank.has(ns)) workloadRank.set(ns, 3 + workloadRank.size);
    return workloadRank.get(ns) ?? 3;
  };
  const itemRank = new Map<L2Item, number>();
  const ranked = steps.map((step, i) => {
    const rank = Math.max(ownRank(step), itemRank.get(step.item) ?? 0);
    itemRank.set(step.item, rank);
    return { step, i, rank };
  });
  return ranked.sort((a, b) => a.rank - b.rank || a.i - b.i).map((s) => s.step);
}
