/**
 * The items of each key, in the order they came (what `Map.groupBy` does from Node 21). Each
 * group is appended to in place: building groups by copying (`[...(m.get(k) ?? []), item]`) cost
 * time in the square of a group's size, and a network's ports are thousands.
 */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
