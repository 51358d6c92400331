/**
 * A plan's steps grouped by their item, items in the order they first appear and each group in
 * plan order: an apply runs one item's steps in sequence and stops that item at its first failure.
 */
export function stepsByItem<S extends { readonly item: unknown }>(steps: readonly S[]): Map<S['item'], S[]> {
  const groups = new Map<S['item'], S[]>();
  for (const step of steps) {
    const group = groups.get(step.item);
    if (group === undefined) groups.set(step.item, [step]);
    else group.push(step);
  }
  return groups;
}

/** An item the planner refused, or could only partly plan. */
export interface PlanItemError<I> {
  readonly item: I;
  readonly error: string;
}

/** What a planner returns: the steps to run and the items it refused (or planned only in part). */
export interface Plan<S, I> {
  readonly steps: readonly S[];
  readonly errors: readonly PlanItemError<I>[];
}

/**
 * Runs a driver's read-back. A failure is not thrown: every item is reported with it, to be
 * retried by the next reconcile.
 */
export async function observeOrFailAll<O, I>(
  items: readonly I[],
  what: string,
  observe: () => Promise<O>,
): Promise<{ readonly observed: O } | { readonly failed: { readonly item: I; readonly ok: false; readonly error: string }[] }> {
  try {
    return { observed: await observe() };
  } catch (error) {
    const message = `reading ${what} failed: ${error instanceof Error ? error.message : String(error)}`;
    return { failed: items.map((item) => ({ item, ok: false, error: message })) };
  }
}

/** Each failed item's error: the planner's, replaced by the apply's when a step of the item failed. */
export function itemFailures<I>(
  plan: Plan<unknown, I>,
  applied: readonly ({ readonly item: I; readonly ok: true } | { readonly item: I; readonly ok: false; readonly error: string })[],
): Map<I, string> {
  const failures = new Map<I, string>();
  for (const e of plan.errors) failures.set(e.item, e.error);
  for (const r of applied) if (!r.ok) failures.set(r.item, r.error);
  return failures;
}
