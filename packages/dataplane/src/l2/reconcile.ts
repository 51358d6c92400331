import { type L2HostIntent } from '@ncp/contracts';
import { type CommandRunner } from '../runner.js';
import { applyL2 } from './apply.js';
import { type L2HostConfig } from './model.js';
import { observeL2 } from './observe.js';
import { networkItem, planL2, portItem, type L2Item } from './plan.js';

/** The outcome of one item: what the agent turns into a status report. */
export type L2ItemResult = { readonly item: L2Item; readonly ok: true } | { readonly item: L2Item; readonly ok: false; readonly error: string };

/**
 * Observe -> plan -> apply. Level-triggered and without memory: every call reads the kernel
 * afresh, so a restarted agent converges and a converged host gets no mutating command.
 *
 * Returns one result per network of the intent (`network:<id>`), then per port (`port:<id>`),
 * in intent order, then `sweep` (removal of our links that are no longer wanted). An item that
 * needed no change is ok.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid host config. A failure to
 *   read the kernel is not thrown: every item is reported with it, to be retried.
 */
export async function reconcileL2(intent: L2HostIntent, config: L2HostConfig, runner: CommandRunner): Promise<L2ItemResult[]> {
  const items: L2Item[] = [...intent.networks.map((n) => networkItem(n.id)), ...intent.ports.map((p) => portItem(p.id)), 'sweep'];
  let observed;
  try {
    observed = await observeL2(intent, config, runner);
  } catch (error) {
    const message = `reading the host state failed: ${error instanceof Error ? error.message : String(error)}`;
    return items.map((item) => ({ item, ok: false, error: message }));
  }
  const plan = planL2(intent, config, observed);
  const applied = await applyL2(plan.steps, runner);

  const failures = new Map<L2Item, string>();
  for (const e of plan.errors) failures.set(e.item, e.error);
  for (const r of applied) if (!r.ok) failures.set(r.item, r.error);
  return items.map((item) => {
    const error = failures.get(item);
    return error === undefined ? { item, ok: true } : { item, ok: false, error };
  });
}
