import { z } from 'zod';
import { ValidationError } from '@ncp/contracts';
import { toBoolean, toInteger } from './query';

/**
 * Request body helpers with Neutron's conversions: booleans and integers may arrive as
 * strings ("True", "1450"), unknown attributes are refused by name.
 */
export const neutronBoolean = (name: string) => z.unknown().transform((v) => toBoolean(name, v));
export const neutronInteger = (name: string) => z.unknown().transform((v) => toInteger(name, v));
export const neutronNullableInteger = (name: string) =>
  z.unknown().transform((v) => (v === null || v === undefined ? null : toInteger(name, v)));

/** Extracts `{ "<singular>": {...} }` and validates the inner object. */
export function parseBody<S extends z.ZodType>(body: unknown, singular: string, schema: S): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('API.HTTPBadRequest', 'Body contains invalid data');
  }
  const inner = (body as Record<string, unknown>)[singular];
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    throw new ValidationError('API.HTTPBadRequest', `Resource body required with key '${singular}'`);
  }
  const parsed = schema.safeParse(inner);
  if (!parsed.success) throw new ValidationError('API.HTTPBadRequest', describeIssues(parsed.error.issues));
  return parsed.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const unknown = issues.filter((i) => i.code === 'unrecognized_keys').flatMap((i) => ('keys' in i ? i.keys : []));
  if (unknown.length > 0) return `Unrecognized attribute(s) '${unknown.join(', ')}'`;
  const first = issues[0];
  if (!first) return 'Body contains invalid data';
  const attribute = first.path.map(String).join('.');
  return `Invalid input for ${attribute || 'body'}. Reason: ${first.message}.`;
}

/**
 * An object schema for one resource: `create` lists what POST accepts, `updatable`
 * what PUT accepts; anything in `create` but not `updatable` is read-only on PUT.
 */
export function readOnlyOnUpdate(body: Record<string, unknown>, updatable: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!updatable.includes(key)) {
      throw new ValidationError('API.HTTPBadRequest', `Cannot update read-only attribute ${key}`);
    }
  }
}
