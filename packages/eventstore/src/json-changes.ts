import { type JsonChange } from '@ncp/contracts';

/** A value as JSON shows it: bigints as strings, Maps as objects, Sets as arrays (state of any decider). */
export function toPlain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries(v as Map<string, unknown>);
      if (v instanceof Set) return [...(v as Set<unknown>)];
      return v;
    }) ?? 'null',
  ) as unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What differs between two JSON values, leaf by leaf (objects by key, arrays by index). Pure. */
export function jsonChanges(before: unknown, after: unknown, path = ''): JsonChange[] {
  const join = (k: string) => (path === '' ? k : `${path}.${k}`);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => jsonChanges(before[k], after[k], join(k)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => jsonChanges(before[i], after[i], join(String(i)))).flat();
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path, before: before ?? null, after: after ?? null }];
}
