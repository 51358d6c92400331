import { z } from 'zod';
import { ID_MAX_LENGTH, ValidationError, findUnstorable, isIdToken, unstorableText } from '@ncp/contracts';
import { INT32, toBoolean, toInteger, type IntegerRange } from './query';

/**
 * Request body helpers with Neutron's conversions: booleans and integers may arrive as
 * strings ("True", "1450"), unknown attributes are refused by name.
 *
 * They are also the one place where what a client may send is bounded, so that nothing
 * reaches an event that a projection could not store: text without NUL or unpaired
 * surrogates and within Neutron's lengths, integers that fit their columns, ids in the
 * alphabet subjects take, and free-form maps of bounded size and depth.
 */

/** Neutron's field sizes (neutron-lib `db/constants.py`). */
export const NEUTRON_LIMITS = {
  name: 255,
  description: 255,
  deviceId: 255,
  deviceOwner: 255,
  hostId: 255,
  projectId: 255,
  /** ml2's port binding `profile` column: the JSON text of `binding:profile`. */
  bindingProfileBytes: 4095,
  /** Neutron's defaults for max_fixed_ips_per_port, max_dns_nameservers, max_subnet_host_routes, max_allowed_address_pair and max_routes. */
  fixedIpsPerPort: 5,
  dnsNameservers: 5,
  hostRoutes: 20,
  allowedAddressPairs: 10,
  routerRoutes: 30,
} as const;

const storable = (s: string, ctx: z.RefinementCtx) => {
  const problem = unstorableText(s);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
};

/** Free text: at most `max` characters (Neutron's 255 by default), none Postgres refuses. */
export const neutronString = (max: number = NEUTRON_LIMITS.name) => z.string().max(max, `must be at most ${max} characters`).superRefine(storable);

/**
 * A resource id given in a body (`network_id`, `port_id` ...): the characters a subject
 * token takes. Anything else could name no resource.
 */
export const neutronId = () => z.string().refine(isIdToken, { message: `must be an id of at most ${ID_MAX_LENGTH} letters, digits, '-' or '_'` });

/** A project id, in a body or a header: usable as a column value and a subject token. */
export const neutronProjectId = () => z.string().refine(isIdToken, { message: `must be a project id of at most ${ID_MAX_LENGTH} letters, digits, '-' or '_'` });

/** A list of at most `max` items (Neutron's configured maximums, or a bound of our own). */
export const boundedList = <T extends z.ZodType>(item: T, max: number, what = 'items') => z.array(item).max(max, `at most ${max} ${what} are allowed`);

export const neutronBoolean = (name: string) => z.unknown().transform((v) => toBoolean(name, v));
/** An integer within `range` (by default what an `Int` column holds). */
export const neutronInteger = (name: string, range: IntegerRange = INT32) => z.unknown().transform((v) => toInteger(name, v, range));
export const neutronNullableInteger = (name: string, range: IntegerRange = INT32) =>
  z.unknown().transform((v) => (v === null || v === undefined ? null : toInteger(name, v, range)));

/** Why a free-form JSON value is too big or too deep, or null. */
export function jsonBoundsProblem(value: unknown, bounds: { maxBytes: number; maxDepth: number }): string | null {
  // Stops descending past the bound, so a hostile nesting cannot exhaust the stack here.
  const tooDeep = (v: unknown, levelsLeft: number): boolean =>
    typeof v === 'object' && v !== null && (levelsLeft === 0 || (Array.isArray(v) ? v : Object.values(v)).some((c) => tooDeep(c, levelsLeft - 1)));
  if (tooDeep(value, bounds.maxDepth)) return `it must be nested at most ${bounds.maxDepth} levels deep`;
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > bounds.maxBytes) return `it must take at most ${bounds.maxBytes} bytes as JSON, not ${bytes}`;
  const bad = findUnstorable(value);
  if (bad !== null) return `${bad.path === '' ? '' : `at ${bad.path}: `}${bad.problem}`;
  return null;
}

/** A free-form JSON object (`binding:profile`, `vendor_data` ...) of bounded size and depth. */
export const boundedJsonObject = (bounds: { maxBytes: number; maxDepth: number }) =>
  z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
    const problem = jsonBoundsProblem(v, bounds);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Extracts `{ "<singular>": {...} }` and validates the inner object. */
export function parseBody<S extends z.ZodType>(body: unknown, singular: string, schema: S): z.infer<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('API.HTTPBadRequest', 'Body contains invalid data');
  }
  const inner = (body as Record<string, unknown>)[singular];
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    throw new ValidationError('API.HTTPBadRequest', `Resource body required with key '${singular}'`);
  }
  return parseWith(inner, schema);
}

/** Validates a whole body (an action's `{"subnet_id": ...}`) with Neutron's error wording. */
export function parseWith<S extends z.ZodType>(value: unknown, schema: S): z.infer<S> {
  const parsed = schema.safeParse(value);
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
