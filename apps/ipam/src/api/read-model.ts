import { NotFoundError, ValidationError, type CommandMetadata } from '@ncp/contracts';
import {
  afterMarker,
  effectiveSort,
  pageLinks,
  parseListQuery,
  selectFields,
  type RawQuery,
} from '@ncp/nest-common';
import { type IpamPrisma } from '../infrastructure/prisma';
import { type ResourceReader } from './resources';

export interface ListResult {
  readonly items: Record<string, unknown>[];
  readonly links: { href: string; rel: 'next' | 'previous' }[];
}

/** Neutron GET semantics over the projection tables. */
export class ReadModel {
  constructor(
    private readonly prisma: IpamPrisma,
    private readonly maxLimit: number | undefined,
  ) {}

  async list<Row>(reader: ResourceReader<Row>, raw: RawQuery, meta: CommandMetadata, baseUrl: string): Promise<ListResult> {
    const query = parseListQuery(reader.spec, raw, { maxLimit: this.maxLimit });
    const conditions: Record<string, unknown>[] = [reader.visibleTo(meta)];
    // OR of equalities rather than `in`: Prisma has no `in` for boolean columns.
    for (const f of query.filters) conditions.push({ OR: f.values.map((v) => ({ [f.column]: v })) });
    for (const [name, values] of Object.entries(query.custom)) {
      if (reader.customFilter) conditions.push(reader.customFilter(name, values));
    }
    const sort = effectiveSort(query, reader.defaultSort);
    if (query.marker !== null) {
      const [marker] = await reader.findMany(this.prisma, { where: { AND: [{ id: query.marker }, reader.visibleTo(meta)] }, orderBy: [] });
      if (!marker) throw new ValidationError('API.HTTPBadRequest', `Marker ${query.marker} could not be found.`);
      conditions.push(afterMarker(sort, marker));
    }
    const rows = await reader.findMany(this.prisma, {
      where: { AND: conditions },
      orderBy: sort.map((k) => ({ [k.column]: k.direction })),
      ...(query.limit !== null ? { take: query.limit } : {}),
    });
    if (query.pageReverse) rows.reverse();
    const wire = rows.map((r) => reader.toWire(r));
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

  async get<Row>(reader: ResourceReader<Row>, id: string, meta: CommandMetadata, fields: readonly string[] | null = null): Promise<Record<string, unknown>> {
    const [row] = await reader.findMany(this.prisma, { where: { AND: [{ id }, reader.visibleTo(meta)] }, orderBy: [] });
    if (!row) {
      const { type, message } = reader.notFound(id);
      throw new NotFoundError(`IPAM.${type}`, message);
    }
    return selectFields(reader.toWire(row), fields);
  }
}
