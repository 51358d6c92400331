import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import { type ProjectionRunner } from '@ncp/eventstore';
import { commandMetadata, type RawQuery, type TenancyDefaults } from '@ncp/nest-common';
import { type Written } from '../application/write-model';
import { type IpamTx } from '../infrastructure/prisma';
import { type ReadModel } from './read-model';
import { type ResourceReader } from './resources';

export interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  query: RawQuery;
  protocol?: string;
  body?: unknown;
}

const header = (req: HttpRequestLike, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** What every IPAM controller needs: who asks, read-your-writes, and the wire shapes. */
export class ApiSupport {
  constructor(
    readonly readModel: ReadModel,
    private readonly projection: ProjectionRunner<IpamTx>,
    private readonly tenancy: TenancyDefaults,
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
  async show<Row>(reader: ResourceReader<Row>, written: Written, meta: CommandMetadata): Promise<Record<string, Record<string, unknown>>> {
    await this.projection.waitFor(written.sequence);
    return { [reader.spec.singular]: await this.readModel.get(reader, written.id, meta) };
  }

  async settled(written: Written): Promise<void> {
    await this.projection.waitFor(written.sequence);
  }

  async list<Row>(reader: ResourceReader<Row>, req: HttpRequestLike): Promise<Record<string, unknown>> {
    const { items, links } = await this.readModel.list(reader, req.query, this.meta(req), this.baseUrl(req));
    const key = reader.spec.collection;
    return links.length > 0 ? { [key]: items, [`${key}_links`]: links } : { [key]: items };
  }

  async get<Row>(reader: ResourceReader<Row>, id: string, req: HttpRequestLike): Promise<Record<string, unknown>> {
    const raw = req.query.fields;
    const fields = raw === undefined ? null : (typeof raw === 'string' ? [raw] : [...raw]).filter((f) => f in reader.spec.attributes);
    return { [reader.spec.singular]: await this.readModel.get(reader, id, this.meta(req), fields && fields.length > 0 ? fields : null) };
  }
}
