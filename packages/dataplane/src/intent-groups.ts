import { type z } from 'zod';
import { perFrozenObject } from './memo.js';

/*
 * How the L2 and L3 planners read intent lists: entries by id (case-insensitive, sorted so
 * input order never shows in a plan), and one valid entry per id or the reason why not.
 */

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Items by lowercased id, sorted, so input order never shows in the plan. */
export function groupById<T extends { id: string }>(items: readonly T[]): [string, { raw: string; values: T[] }][] {
  const groups = new Map<string, { raw: string; values: T[] }>();
  for (const value of items) {
    const key = typeof value.id === 'string' ? value.id.toLowerCase() : String(value.id);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { raw: String(value.id), values: [value] });
    else group.values.push(value);
  }
  return [...groups].sort(([a], [b]) => compare(a, b));
}

/** True when entries with the same id differ (identical duplicates are harmless). */
export function conflicting(values: readonly unknown[]): boolean {
  if (values.length < 2) return false;
  const text = JSON.stringify(values[0]);
  return values.some((v) => JSON.stringify(v) !== text);
}

/**
 * Entries found valid, by schema: a frozen entry cannot change, and the agent hands every pass
 * the same frozen objects, so each is validated once, not on every pass.
 */
const validFrozen = new WeakMap<z.ZodType, WeakMap<object, unknown>>();

/** The frozen entries found valid by `schema`, each with what it parsed into. */
function validOf(schema: z.ZodType): WeakMap<object, unknown> {
  let known = validFrozen.get(schema);
  if (known === undefined) validFrozen.set(schema, (known = new WeakMap()));
  return known;
}

/**
 * Records a frozen entry that `schema` has just produced (the agent parses each desired-state
 * entry with its kind's schema) as valid, so that a driver validating it again does not.
 */
export function rememberValid<T extends object>(schema: z.ZodType<T>, value: T): void {
  if (Object.isFrozen(value)) validOf(schema).set(value, value);
}

/** `schema.safeParse`, once for a frozen entry it found valid. */
export function parseOnce<T>(schema: z.ZodType<T>, value: unknown): { success: true; data: T } | { success: false; error: z.ZodError } {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return schema.safeParse(value);
  const known = validOf(schema);
  if (known.has(value)) return { success: true, data: known.get(value) as T };
  const result = schema.safeParse(value);
  if (result.success) known.set(value, result.data);
  return result;
}

/** An entry's JSON, made once for a frozen entry (which cannot change), as an intent is compared with the last pass's. */
export const intentJson = perFrozenObject((value: object) => JSON.stringify(value));

/** The single valid entry of an id, or why not. */
export function acceptOne<T>(schema: z.ZodType<T>, values: readonly unknown[], what: string): T | string {
  const [first] = values;
  if (first === undefined) return `no ${what}`;
  if (conflicting(values)) return `the intent holds conflicting entries for this ${what}`;
  const result = parseOnce(schema, first);
  return result.success ? result.data : `invalid ${what}: ${formatIssues(result.error)}`;
}

/** zod issues as one line: `path: message; ...`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * The valid entry of each id of `list`, sorted by id, with its item; an id without one fails its
 * item instead (see {@link acceptOne}).
 */
export function* acceptedById<T extends { id: string }, V, I>(
  list: readonly T[],
  schema: z.ZodType<V>,
  what: string,
  itemOf: (rawId: string) => I,
  fail: (item: I, why: string) => void,
): Generator<[id: string, item: I, value: V]> {
  for (const [id, entries] of groupById(list)) {
    const item = itemOf(entries.raw);
    const value = acceptOne(schema, entries.values, what);
    if (typeof value === 'string') fail(item, value);
    else yield [id, item, value];
  }
}
