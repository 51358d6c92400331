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
