import { type DomainError } from './errors';

/**
 * A create command's event: the command's fields but its type and id as the event's data,
 * or `conflict` when the aggregate exists already (the caller chose the id, so a second
 * create is a conflict, not an update).
 */
export function createdEvent<C extends { type: string; id: string }, T extends string>(
  command: C,
  exists: boolean,
  type: T,
  conflict: () => DomainError,
): readonly [{ type: T; data: Omit<C, 'type' | 'id'> }] {
  if (exists) throw conflict();
  const { type: _type, id: _id, ...data } = command;
  return [{ type, data }];
}

/** A copy of `map` with `key` set to `value`, for an `evolve` that leaves the previous state as it was. */
export function withEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V): Map<K, V> {
  const copy = new Map(map);
  copy.set(key, value);
  return copy;
}

/** A copy of `map` without `key`, for an `evolve` that leaves the previous state as it was. */
export function withoutEntry<K, V>(map: ReadonlyMap<K, V>, key: K): Map<K, V> {
  const copy = new Map(map);
  copy.delete(key);
  return copy;
}
