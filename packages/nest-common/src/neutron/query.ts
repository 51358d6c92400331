import { ValidationError, isIdToken, unstorableText } from '@ncp/contracts';

/**
 * Neutron list semantics, independent of storage: filters on any attribute (repeated
 * values = any of them), `fields`, `sort_key`/`sort_dir`, `limit`/`marker`/`page_reverse`.
 * Values arrive as strings and are converted as Neutron converts them.
 */
export type AttributeType = 'string' | 'boolean' | 'integer' | 'timestamp' | 'list' | 'json';

/** Inclusive bounds of an integer. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

/** What a Postgres `integer` (Prisma `Int`) column holds. */
export const INT32: IntegerRange = { min: -2147483648, max: 2147483647 };

export interface AttributeSpec {
  readonly type: AttributeType;
  /** Storage column; attributes without one can be shown but not filtered or sorted. */
  readonly column?: string;
  /** Integers only: what the column holds (default INT32); a filter outside it is refused. */
  readonly range?: IntegerRange;
}

export interface ResourceSpec {
  readonly singular: string;
  readonly collection: string;
  /** Wire attribute name -> spec. */
  readonly attributes: Readonly<Record<string, AttributeSpec>>;
  /** Filters the resource interprets itself (e.g. ports' `fixed_ips=ip_address=...`). */
  readonly customFilters?: readonly string[];
  /** Aliases accepted as filters, e.g. tenant_id -> project_id. */
  readonly filterAliases?: Readonly<Record<string, string>>;
}

export type FilterValue = string | number | boolean | Date;

export interface ColumnFilter {
  readonly attribute: string;
  readonly column: string;
  readonly values: readonly FilterValue[];
}

export interface SortKey {
  readonly attribute: string;
  readonly column: string;
  readonly direction: 'asc' | 'desc';
  /** Booleans have no `gt`/`lt`: their keyset condition is an equality. */
  readonly type?: AttributeType;
}

export interface ListQuery {
  readonly filters: readonly ColumnFilter[];
  readonly custom: Readonly<Record<string, readonly string[]>>;
  /** Attributes to return; null = all. */
  readonly fields: readonly string[] | null;
  readonly sort: readonly SortKey[];
  readonly limit: number | null;
  readonly marker: string | null;
  readonly pageReverse: boolean;
}

const RESERVED = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse']);

export type RawQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

const asList = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);

const invalidFilter = (name: string) => new ValidationError('API.HTTPBadRequest', `[${name}] is invalid attribute for filtering`);

/** Neutron's convert_to_boolean. */
export function toBoolean(name: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
  }
  throw new ValidationError('API.HTTPBadRequest', `Invalid input for ${name}. Reason: '${String(value)}' cannot be converted to boolean.`);
}

/**
 * Neutron's convert_to_int, then its validate_range: a value outside `range` (by default
 * what an `Int` column holds) is refused with Neutron's words, never passed on.
 */
export function toInteger(name: string, value: unknown, range: IntegerRange = INT32): number {
  let n: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) n = value;
  else if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) n = Number.parseInt(value, 10);
  if (n === undefined) throw new ValidationError('API.HTTPBadRequest', `Invalid input for ${name}. Reason: '${String(value)}' is not an integer.`);
  const shown = typeof value === 'string' ? value.trim() : String(value);
  if (n < range.min)
    throw new ValidationError('API.HTTPBadRequest', `Invalid input for ${name}. Reason: '${shown}' is too small - must be at least '${range.min}'.`);
  if (n > range.max)
    throw new ValidationError('API.HTTPBadRequest', `Invalid input for ${name}. Reason: '${shown}' is too large - must be no larger than '${range.max}'.`);
  return n;
}

/** A timestamp as Neutron prints them (`2026-01-01T00:00:00Z`), or any ISO 8601 date-time. */
export function toTimestamp(name: string, value: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
  const at = iso.test(value.trim()) ? new Date(value.trim().replace(' ', 'T')) : undefined;
  if (at === undefined || Number.isNaN(at.getTime())) {
    throw new ValidationError('API.HTTPBadRequest', `Invalid input for ${name}. Reason: '${value}' is not a valid timestamp.`);
  }
  return at;
}

/** A text filter value Postgres can compare (no NUL, no unpaired surrogate). */
function toText(name: string, value: string): string {
  const problem = unstorableText(value);
  if (problem !== null) throw new ValidationError('API.HTTPBadRequest', `Invalid input for ${name}. Reason: ${problem}.`);
  return value;
}

export function parseListQuery(spec: ResourceSpec, raw: RawQuery, opts: { maxLimit?: number } = {}): ListQuery {
  const filters: ColumnFilter[] = [];
  const custom: Record<string, string[]> = {};
  for (const [rawName, value] of Object.entries(raw)) {
    if (RESERVED.has(rawName) || value === undefined) continue;
    if (spec.customFilters?.includes(rawName)) {
      custom[rawName] = asList(value);
      continue;
    }
    const name = spec.filterAliases?.[rawName] ?? rawName;
    const attr = spec.attributes[name];
    if (!attr?.column || attr.type === 'list' || attr.type === 'json') throw invalidFilter(rawName);
    const values = asList(value).map((v): FilterValue => {
      if (attr.type === 'boolean') return toBoolean(rawName, v);
      if (attr.type === 'integer') return toInteger(rawName, v, attr.range);
      if (attr.type === 'timestamp') return toTimestamp(rawName, v);
      return toText(rawName, v);
    });
    filters.push({ attribute: name, column: attr.column, values });
  }

  const fieldList = asList(raw.fields)
    .flatMap((f) => f.split(','))
    .filter((f) => f !== '');
  // Unknown names are ignored: clients ask for attributes of extensions we lack.
  const fields = fieldList.length > 0 ? fieldList.filter((f) => f in spec.attributes) : null;

  const sortKeys = asList(raw.sort_key);
  const sortDirs = asList(raw.sort_dir);
  if (sortDirs.length > 0 && sortDirs.length !== sortKeys.length) {
    throw new ValidationError('API.HTTPBadRequest', 'The number of sort_keys and sort_dirs must be same');
  }
  const sort = sortKeys.map((key, i): SortKey => {
    const attr = spec.attributes[key];
    if (!attr?.column || attr.type === 'list' || attr.type === 'json') {
      throw new ValidationError('API.HTTPBadRequest', `Attribute '${key}' is not supported for sorting`);
    }
    const dir = (sortDirs[i] ?? 'asc').toLowerCase();
    if (dir !== 'asc' && dir !== 'desc') {
      throw new ValidationError('API.HTTPBadRequest', `Invalid input for sort_dir. Reason: '${dir}' is not in ['asc', 'desc'].`);
    }
    return { attribute: key, column: attr.column, direction: dir, type: attr.type };
  });

  const limitText = asList(raw.limit)[0];
  let limit: number | null = null;
  if (limitText !== undefined && limitText !== '') {
    if (!/^\s*[-+]?\d+\s*$/.test(limitText)) toInteger('limit', limitText);
    if (limitText.trim().startsWith('-')) throw new ValidationError('API.HTTPBadRequest', `Limit must be an integer 0 or greater and not '${limitText}'`);
    // Any size is a valid limit (Neutron's are Python integers); beyond what a page can
    // hold it means "all", as 0 does. A configured maximum caps the page.
    limit = Math.min(Number(limitText), INT32.max);
    if (limit === 0) limit = null;
  }
  if (opts.maxLimit !== undefined) limit = Math.min(limit ?? opts.maxLimit, opts.maxLimit);

  const pageReverseText = asList(raw.page_reverse)[0];
  const marker = asList(raw.marker)[0] ?? null;
  // An id outside the id alphabet names no row: the same answer as an unknown marker.
  if (marker !== null && !isIdToken(marker)) throw markerNotFound(marker);
  return {
    filters,
    custom,
    fields,
    sort,
    limit,
    marker,
    pageReverse: pageReverseText !== undefined ? toBoolean('page_reverse', pageReverseText) : false,
  };
}

export const markerNotFound = (marker: string) => new ValidationError('API.HTTPBadRequest', `Marker ${marker} could not be found.`);

/** The sort actually applied: the requested keys, then id so every order is total. */
export function effectiveSort(query: ListQuery, defaults: readonly SortKey[]): SortKey[] {
  const keys = query.sort.length > 0 ? [...query.sort] : [...defaults];
  if (!keys.some((k) => k.column === 'id')) keys.push({ attribute: 'id', column: 'id', direction: keys[0]?.direction ?? 'asc' });
  return query.pageReverse ? keys.map((k) => ({ ...k, direction: k.direction === 'asc' ? 'desc' : 'asc' })) : keys;
}

/**
 * Rows strictly after the marker row in the given order (keyset pagination), as a
 * storage-neutral condition: OR over i of (keys before i equal AND key i beyond).
 */
export function afterMarker(sort: readonly SortKey[], marker: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const branches = sort.flatMap((key, i) => {
    const beyond = beyondMarker(key, marker[key.column]);
    return beyond === null ? [] : [{ AND: [...sort.slice(0, i).map((k) => ({ [k.column]: marker[k.column] })), beyond] }];
  });
  return { OR: branches };
}

/**
 * Values of one key strictly after the marker's value, or null when none can be. Postgres
 * puts NULLs last in ascending order and first in descending order; false before true.
 */
function beyondMarker(key: SortKey, value: unknown): Record<string, unknown> | null {
  const asc = key.direction === 'asc';
  if (value === null || value === undefined) return asc ? null : { [key.column]: { not: null } };
  if (key.type === 'boolean') return value === asc ? null : { [key.column]: asc };
  return { [key.column]: { [asc ? 'gt' : 'lt']: value } };
}

/** Drops attributes not asked for with `fields=`. */
export function selectFields(item: Record<string, unknown>, fields: readonly string[] | null): Record<string, unknown> {
  if (fields === null) return item;
  return Object.fromEntries(fields.filter((f) => f in item).map((f) => [f, item[f]]));
}

/** Neutron's `<collection>_links` for a page when a limit was given. */
export function pageLinks(args: {
  baseUrl: string;
  collection: string;
  query: RawQuery;
  limit: number | null;
  items: readonly { id: string }[];
  pageReverse: boolean;
  hadMarker: boolean;
}): { href: string; rel: 'next' | 'previous' }[] {
  const { baseUrl, query, limit, items, pageReverse, hadMarker } = args;
  if (limit === null || items.length === 0) return [];
  const first = items[0];
  const last = items[items.length - 1];
  if (!first || !last) return [];
  const link = (marker: string, reverse: boolean) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (k === 'marker' || k === 'page_reverse') continue;
      for (const value of asList(v)) params.append(k, value);
    }
    params.set('limit', String(limit));
    params.set('marker', marker);
    if (reverse) params.set('page_reverse', 'True');
    return `${baseUrl}/${args.collection}?${params.toString()}`;
  };
  const links: { href: string; rel: 'next' | 'previous' }[] = [];
  const full = items.length >= limit;
  // In reverse paging "next" walks backwards; the items are already in forward order.
  if (pageReverse ? hadMarker : full) links.push({ href: link(last.id, false), rel: 'next' });
  if (pageReverse ? full : hadMarker) links.push({ href: link(first.id, true), rel: 'previous' });
  return links;
}
