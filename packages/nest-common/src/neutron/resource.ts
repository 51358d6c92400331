import { HttpException, HttpStatus } from '@nestjs/common';
import {
  NotFoundError,
  ValidationError,
  hiddenAttributes,
  isIdToken,
  readScope,
  type CommandMetadata,
  type PolicyAction,
  type PolicyTarget,
} from '@ncp/contracts';
import {
  afterMarker,
  effectiveSort,
  markerNotFound,
  pageLinks,
  parseListQuery,
  selectFields,
  type AttributeSpec,
  type IntegerRange,
  type RawQuery,
  type ResourceSpec,
  type SortKey,
} from './query';
import { commandMetadata, type TenancyDefaults } from './request-context';

/**
 * A Neutron resource served from a projection: wire attributes and their columns, who may
 * see a row, and how a row looks on the wire. `Db` is the service's database client.
 */
export type Where = Record<string, unknown>;

export interface ResourceReader<Row, Db> {
  readonly spec: ResourceSpec;
  /** URL path segment, which differs from the collection key for address-scopes. */
  readonly path: string;
  /** Neutron exception name and message for a missing id. */
  notFound(id: string): { type: string; message: string };
  readonly defaultSort: readonly SortKey[];
  /** The rows the caller may see: Neutron's `get_<singular>` rule as a filter (`policyWhere`). */
  visibleTo(meta: CommandMetadata): Where;
  /**
   * What the policy rules look at in a row, besides its project (the default): its network's
   * project, whether it is shared with or external for the caller, ...
   */
  policyTarget?(row: Row, meta: CommandMetadata): PolicyTarget;
  customFilter?(name: string, values: readonly string[]): Where;
  findMany(db: Db, args: { where: Where; orderBy: Where[]; take?: number }): Promise<Row[]>;
  /**
   * For readers whose list rows are not one per database row (an agent is listed once per
   * Neutron agent type it stands for): the rows a list shows, given its custom filters.
   */
  expand?(rows: Row[], custom: Readonly<Record<string, readonly string[]>>): Row[];
  /** The row on the wire; `meta`: for attributes that depend on the caller (a network's `shared`). */
  toWire(row: Row, meta: CommandMetadata): Record<string, unknown>;
}

// Attribute specs and wire fields every Neutron resource shares.
export const stringAttr = (column?: string): AttributeSpec => ({ type: 'string', column });
export const booleanAttr = (column?: string): AttributeSpec => ({ type: 'boolean', column });
/** An integer attribute; `range`: what its column holds when it is not an `Int` (int32). */
export const integerAttr = (column?: string, range?: IntegerRange): AttributeSpec => ({ type: 'integer', column, ...(range ? { range } : {}) });
export const timestampAttr = (column?: string): AttributeSpec => ({ type: 'timestamp', column });
export const listAttr: AttributeSpec = { type: 'list' };
export const jsonAttr: AttributeSpec = { type: 'json' };

export const STANDARD_ATTRIBUTES = {
  id: stringAttr('id'),
  name: stringAttr('name'),
  project_id: stringAttr('projectId'),
  tenant_id: stringAttr('projectId'),
  revision_number: integerAttr('revisionNumber'),
  created_at: timestampAttr('createdAt'),
  updated_at: timestampAttr('updatedAt'),
  tags: listAttr,
};

export const BY_CREATION: SortKey[] = [{ attribute: 'created_at', column: 'createdAt', direction: 'asc' }];

/** Neutron prints timestamps without fractions: 2026-01-01T00:00:00Z. */
export const neutronTimestamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function standardWire(row: { id: string; name: string; projectId: string; revisionNumber: number; createdAt: Date; updatedAt: Date }) {
  return {
    id: row.id,
    name: row.name,
    tenant_id: row.projectId,
    project_id: row.projectId,
    revision_number: row.revisionNumber,
    created_at: neutronTimestamp(row.createdAt),
    updated_at: neutronTimestamp(row.updatedAt),
    tags: [] as string[],
  };
}

/**
 * How a reader's rows stand to a caller, as filters: owned by a project (default: its
 * `projectId` column), on a network a project owns, in a security group a project owns,
 * shared with the caller, external for the caller. A relation a reader has not is never true.
 */
export interface PolicyRelations {
  owner?(projectId: string): Where;
  networkOwner?(projectId: string): Where;
  sgOwner?(projectId: string): Where;
  shared?(projectId: string): Where;
  external?(projectId: string): Where;
}

/** Matches no row. */
export const NO_ROWS: Where = { id: { in: [] } };

/**
 * The rows a `get_<resource>` rule lets the caller see, as a filter: every row, or those in
 * one of the relations the rule allows (see `readScope`).
 */
export function policyWhere(action: PolicyAction, meta: CommandMetadata, relations: PolicyRelations = {}): Where {
  const scope = readScope(action, meta);
  if (scope.all) return {};
  const p = meta.projectId;
  const any: Where[] = [];
  if (scope.owner) any.push(relations.owner ? relations.owner(p) : { projectId: p });
  if (scope.networkOwner && relations.networkOwner) any.push(relations.networkOwner(p));
  if (scope.sgOwner && relations.sgOwner) any.push(relations.sgOwner(p));
  if (scope.shared && relations.shared) any.push(relations.shared(p));
  if (scope.external && relations.external) any.push(relations.external(p));
  return any.length > 0 ? { OR: any } : NO_ROWS;
}

/** The policy target of a row: the reader's, else the row's project. */
export function targetOf<Row>(reader: ResourceReader<Row, unknown>, row: Row, meta: CommandMetadata): PolicyTarget {
  if (reader.policyTarget) return reader.policyTarget(row, meta);
  const projectId = (row as { projectId?: unknown }).projectId;
  return typeof projectId === 'string' ? { projectId } : {};
}

/** The row as the caller may read it: without the attributes whose `get_<resource>:<attribute>` rule fails. */
function readable<Row>(reader: ResourceReader<Row, unknown>, row: Row, meta: CommandMetadata): Record<string, unknown> {
  const wire = reader.toWire(row, meta);
  const hidden = hiddenAttributes(reader.spec.singular, meta, targetOf(reader, row, meta), Object.keys(wire));
  for (const attribute of hidden) delete wire[attribute];
  return wire;
}

export interface ListResult {
  readonly items: Record<string, unknown>[];
  readonly links: { href: string; rel: 'next' | 'previous' }[];
}

/** Neutron GET semantics over a projection. */
export class ReadModel<Db> {
  constructor(
    private readonly db: Db,
    private readonly maxLimit: number | undefined,
  ) {}

  async list<Row>(reader: ResourceReader<Row, Db>, raw: RawQuery, meta: CommandMetadata, baseUrl: string): Promise<ListResult> {
    const query = parseListQuery(reader.spec, raw, { maxLimit: this.maxLimit });
    const conditions: Where[] = [reader.visibleTo(meta)];
    // OR of equalities rather than `in`: Prisma has no `in` for boolean columns.
    for (const f of query.filters) conditions.push({ OR: f.values.map((v) => ({ [f.column]: v })) });
    for (const [name, values] of Object.entries(query.custom)) {
      if (reader.customFilter) conditions.push(reader.customFilter(name, values));
    }
    const sort = effectiveSort(query, reader.defaultSort);
    if (query.marker !== null) {
      const [marker] = await reader.findMany(this.db, { where: { AND: [{ id: query.marker }, reader.visibleTo(meta)] }, orderBy: [] });
      if (!marker) throw markerNotFound(query.marker);
      conditions.push(afterMarker(sort, marker));
    }
    let rows = await reader.findMany(this.db, {
      where: { AND: conditions },
      orderBy: sort.map((k) => ({ [k.column]: k.direction })),
      ...(query.limit !== null ? { take: query.limit } : {}),
    });
    if (reader.expand) rows = reader.expand(rows, query.custom).slice(0, query.limit ?? undefined);
    if (query.pageReverse) rows.reverse();
    const wire = rows.map((r) => readable(reader, r, meta));
    const links = pageLinks({
      baseUrl,
      collection: reader.path,
      query: raw,
      limit: query.limit,
      items: wire as { id: string }[],
      pageReverse: query.pageReverse,
      hadMarker: query.marker !== null,
    });
    return { items: wire.map((w) => selectFields(w, query.fields)), links };
  }

  async get<Row>(
    reader: ResourceReader<Row, Db>,
    id: string,
    meta: CommandMetadata,
    fields: readonly string[] | null = null,
  ): Promise<Record<string, unknown>> {
    const row = await this.row(reader, id, meta);
    return selectFields(readable(reader, row, meta), fields);
  }

  /** The row of a resource the caller may see, else the resource's 404. */
  async row<Row>(reader: ResourceReader<Row, Db>, id: string, meta: CommandMetadata): Promise<Row> {
    // An id outside the id alphabet names nothing (and may not even be text Postgres takes).
    const [row] = isIdToken(id) ? await reader.findMany(this.db, { where: { AND: [{ id }, reader.visibleTo(meta)] }, orderBy: [] }) : [];
    if (!row) {
      const { type, message } = reader.notFound(id);
      throw new NotFoundError(`API.${type}`, message);
    }
    return row;
  }
}

export interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  query: RawQuery;
  protocol?: string;
  body?: unknown;
}

/** A write: the resource it created or changed and the stream sequence to wait for. */
export interface Written {
  readonly id: string;
  readonly sequence: number;
}

/**
 * How long a write waits for its projection to show it. The write is stored before the wait
 * begins, so running out of time is no failure of the write: it is answered 503 saying so.
 */
export const READ_YOUR_WRITES_TIMEOUT_MS = 30_000;

/**
 * A write that was stored (it is in the event log and will be applied) but that the projection
 * has not shown in time: 503, never 500, with the resource's id, so that a client reads it
 * instead of sending the request again (which would create a second one).
 */
export class StoredNotVisibleError extends HttpException {
  constructor(
    readonly written: Written,
    what: string,
  ) {
    super(
      {
        NeutronError: {
          type: 'HTTPServiceUnavailable',
          message: `${what} was stored but cannot be read back yet: the service is behind with its reads. Do not send the request again; GET the resource in a moment.`,
          detail: `id ${written.id}, event stream sequence ${written.sequence}`,
        },
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

const header = (req: HttpRequestLike, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** What every controller needs: who asks, read-your-writes, and the wire shapes. */
export class ApiSupport<Db> {
  constructor(
    readonly readModel: ReadModel<Db>,
    private readonly projection: { waitFor(sequence: number, timeoutMs?: number): Promise<void> },
    /** Who a request without identity headers is; null when the edge authenticates every request. */
    private readonly tenancy: TenancyDefaults | null,
    private readonly readYourWritesMs = READ_YOUR_WRITES_TIMEOUT_MS,
  ) {}

  meta(req: HttpRequestLike): CommandMetadata {
    return commandMetadata(req.headers, this.tenancy);
  }

  /** The public base URL for links: the gateway forwards the client's host and scheme. */
  baseUrl(req: HttpRequestLike): string {
    const proto = header(req, 'x-forwarded-proto') ?? req.protocol ?? 'http';
    const host = header(req, 'x-forwarded-host') ?? header(req, 'host') ?? '127.0.0.1:9696';
    return `${proto}://${host}/v2.0`;
  }

  /** `If-Match: revision_number=N` (several may be given; all must hold, so all must be equal). */
  expectedRevision(req: HttpRequestLike): number | undefined {
    const value = header(req, 'if-match');
    if (value === undefined) return undefined;
    const numbers = value.split(',').map((part) => {
      const m = /^\s*revision_number=(\d+)\s*$/.exec(part);
      if (!m?.[1]) throw new ValidationError('API.HTTPBadRequest', `Invalid If-Match header: ${value} (expected revision_number=<N>)`);
      return Number(m[1]);
    });
    return numbers.reduce((a, b) => (a === b ? a : -1));
  }

  /** Waits until the projection shows the write, then returns the resource as a GET would. */
  async show<Row>(reader: ResourceReader<Row, Db>, written: Written, meta: CommandMetadata): Promise<Record<string, Record<string, unknown>>> {
    await this.visible(written, `The ${reader.spec.singular} ${written.id}`);
    return { [reader.spec.singular]: await this.readModel.get(reader, written.id, meta) };
  }

  /** Waits until the projection shows the write (a delete, an action without a body). */
  async settled(written: Written): Promise<void> {
    await this.visible(written, `The change to ${written.id}`);
  }

  private async visible(written: Written, what: string): Promise<void> {
    try {
      await this.projection.waitFor(written.sequence, this.readYourWritesMs);
    } catch {
      throw new StoredNotVisibleError(written, what);
    }
  }

  async list<Row>(reader: ResourceReader<Row, Db>, req: HttpRequestLike): Promise<Record<string, unknown>> {
    const { items, links } = await this.readModel.list(reader, req.query, this.meta(req), this.baseUrl(req));
    const key = reader.spec.collection;
    return links.length > 0 ? { [key]: items, [`${key}_links`]: links } : { [key]: items };
  }

  async get<Row>(reader: ResourceReader<Row, Db>, id: string, req: HttpRequestLike): Promise<Record<string, unknown>> {
    const raw = req.query.fields;
    const fields = raw === undefined ? null : (typeof raw === 'string' ? [raw] : [...raw]).filter((f) => f in reader.spec.attributes);
    return { [reader.spec.singular]: await this.readModel.get(reader, id, this.meta(req), fields && fields.length > 0 ? fields : null) };
  }
}
