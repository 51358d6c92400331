import { type RouterIntent } from '@ncp/contracts';
import { type CommandRunner } from '../runner.js';
import { itemFailures, observeOrFailAll } from '../steps.js';
import { applyL3 } from './apply.js';
import { resolveL3Options, type L3Options } from './model.js';
import { observeL3 } from './observe.js';
import { fipItem, planL3, routerItem, type L3Item } from './plan.js';

/** The outcome of one item: what the agent turns into a status report. */
export type L3ItemResult =
  { readonly item: L3Item; readonly ok: true; readonly warnings?: readonly string[] } | { readonly item: L3Item; readonly ok: false; readonly error: string };

/**
 * Observe -> plan -> apply. Level-triggered and without memory: every call reads the kernel
 * afresh, so a restarted agent converges and a converged host gets no mutating command.
 * `intents` must be every router of this host: router namespaces that none of them names are
 * deleted.
 *
 * Returns, in intent order, one result per router (`router:<id>`) followed by one per floating
 * IP of that router (`fip:<id>`), then `sweep`. A floating IP fails with its own error, or
 * with its router's when a router command failed (its NAT rules may not be in place).
 * Best-effort failures (gratuitous ARP) come back as warnings of an ok item.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for invalid options. A failure to read the
 *   namespace list is not thrown: every item is reported with it, to be retried.
 */
export async function reconcileL3(intents: readonly RouterIntent[], runner: CommandRunner, options: L3Options = {}): Promise<L3ItemResult[]> {
  resolveL3Options(options); // invalid options are an operator error: thrown, not reported per item
  const items: L3Item[] = [];
  const routerOf = new Map<L3Item, L3Item>();
  for (const r of intents) {
    const router = routerItem(r.id);
    if (!items.includes(router)) items.push(router);
    for (const f of Array.isArray(r.floatingIps) ? r.floatingIps : []) {
      if (typeof f.id !== 'string') continue; // reported with its router
      const fip = fipItem(f.id);
      if (!items.includes(fip)) items.push(fip);
      if (!routerOf.has(fip)) routerOf.set(fip, router);
    }
  }
  items.push('sweep');

  const read = await observeOrFailAll(items, 'the router namespaces', () => observeL3(intents, runner, options));
  if ('failed' in read) return read.failed;
  const plan = planL3(intents, read.observed, options);
  const applied = await applyL3(plan.steps, runner);

  const failures = itemFailures(plan, applied);
  const warnings = new Map<L3Item, readonly string[]>();
  for (const r of applied) if (r.warnings.length > 0) warnings.set(r.item, r.warnings);
  const appliedFailures = new Map(applied.flatMap((r) => (r.ok ? [] : [[r.item, r.error] as const])));
  return items.map((item): L3ItemResult => {
    const router = routerOf.get(item);
    const routerFailure = router === undefined ? undefined : appliedFailures.get(router);
    const error = failures.get(item) ?? (routerFailure === undefined || router === undefined ? undefined : `${router} failed: ${routerFailure}`);
    if (error !== undefined) return { item, ok: false, error };
    const w = warnings.get(item);
    return w === undefined ? { item, ok: true } : { item, ok: true, warnings: w };
  });
}
