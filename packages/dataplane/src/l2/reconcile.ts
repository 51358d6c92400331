import { type L2HostIntent } from '@ncp/contracts';
import { type CommandRunner } from '../runner.js';
import { itemFailures, observeOrFailAll } from '../steps.js';
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
  const read = await observeOrFailAll(items, 'the host state', () => observeL2(intent, config, runner));
  if ('failed' in read) return read.failed;
  const plan = planL2(intent, config, read.observed);
  const failures = itemFailures(plan, await applyL2(plan.steps, runner, config.netns));
  return items.map((item) => {
    const error = failures.get(item);
    return error === undefined ? { item, ok: true } : { item, ok: false, error };
  });
}
