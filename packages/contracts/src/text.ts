/**
 * What text may be stored. Postgres refuses NUL in `text` and `\u0000` in `jsonb`, and
 * `jsonb` refuses an unpaired UTF-16 surrogate (`text` would silently turn it into U+FFFD);
 * an event carrying either can never be projected. Every edge (request bodies, filters,
 * headers) and the event store's append refuse such text with the same rule.
 */

/** A NUL, or a surrogate half without its partner (no `u` flag: the regex sees UTF-16 code units). */
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored, or null when it can. */
export function unstorableText(s: string): string | null {
  const m = UNSTORABLE.exec(s);
  if (m === null) return null;
  return m[0] === '\u0000' ? 'it contains a NUL character' : 'it contains an unpaired UTF-16 surrogate';
}

export interface UnstorableAt {
  /** Where in the value: `name`, `binding:profile.a.0`; empty for the value itself. */
  readonly path: string;
  readonly problem: string;
}

/** The first key or string anywhere in a JSON-like value that cannot be stored, or null. */
export function findUnstorable(value: unknown, path = ''): UnstorableAt | null {
  if (typeof value === 'string') {
    const problem = unstorableText(value);
    return problem === null ? null : { path, problem };
  }
  if (typeof value !== 'object' || value === null) return null;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [key, v] of entries) {
    const at = path === '' ? key : `${path}.${key}`;
    const keyProblem = unstorableText(key);
    if (keyProblem !== null) return { path: at, problem: `its key ${keyProblem.replace(/^it /, '')}` };
    const found = findUnstorable(v, at);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Resource ids as subjects carry them (`ev.ipam.network.<id>`): NATS subject-token
 * characters only, and short enough for a subject. Every id the services make is a UUID;
 * an id outside this alphabet names nothing that exists.
 */
export const ID_MAX_LENGTH = 255;
const ID = /^[A-Za-z0-9_-]+$/;

export function isIdToken(s: string): boolean {
  return s.length > 0 && s.length <= ID_MAX_LENGTH && ID.test(s);
}
