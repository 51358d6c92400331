import { QUOTA_KINDS, type CommandMetadata, type QuotaEvent, type QuotaKind, type QuotaLimits } from '@ncp/contracts';
import { AggregateRepository, type JetStreamEventStore } from '@ncp/eventstore';
import { effectiveLimits, quotaDecider, type QuotaCommand, type QuotaState } from '../domain/quota.decider';
import { type IpamPrisma } from '../infrastructure/prisma';

/** A quota's `details` entry, as Neutron's quota_details extension shows it. */
export interface QuotaDetail {
  limit: number;
  used: number;
  reserved: number;
}

/**
 * Each project's limits (`ev.ipam.quota.<project id>`), read from the aggregate (what the
 * enforcement uses too), and what the quota projection shows of all projects and their usage.
 */
export class QuotaCommands {
  readonly quotas: AggregateRepository<QuotaState, QuotaCommand, QuotaEvent>;

  constructor(
    store: JetStreamEventStore,
    private readonly prisma: IpamPrisma,
    readonly defaults: QuotaLimits,
    /** brings the quota projection up to the end of the stream */
    private readonly catchUp: () => Promise<void>,
  ) {
    this.quotas = new AggregateRepository(store, quotaDecider, { cacheSize: 1000 });
  }

  /** The project's limits: its overrides over the defaults. */
  async show(projectId: string): Promise<QuotaLimits> {
    return effectiveLimits((await this.quotas.load(projectId)).state, this.defaults);
  }

  /** The limit IPAM's own creates are held to. */
  readonly limitOf = async (projectId: string, kind: QuotaKind): Promise<number> => (await this.show(projectId))[kind];

  async set(projectId: string, limits: Readonly<Record<string, unknown>>, meta: CommandMetadata): Promise<{ limits: QuotaLimits; sequence: number }> {
    const r = await this.quotas.execute(projectId, { type: 'SetLimits', limits }, meta);
    return { limits: effectiveLimits(r.state, this.defaults), sequence: r.sequence };
  }

  async reset(projectId: string, meta: CommandMetadata): Promise<number> {
    return (await this.quotas.execute(projectId, { type: 'ResetLimits' }, meta)).sequence;
  }

  /** The projects with limits of their own (Neutron lists those), each with all its limits. */
  async list(): Promise<(QuotaLimits & { project_id: string; tenant_id: string })[]> {
    await this.catchUp();
    const rows = await this.prisma.quotaLimit.findMany({ orderBy: [{ projectId: 'asc' }, { kind: 'asc' }] });
    const byProject = new Map<string, Partial<Record<QuotaKind, number>>>();
    for (const r of rows) byProject.set(r.projectId, { ...byProject.get(r.projectId), [r.kind]: r.limit });
    return [...byProject].map(([projectId, limits]) => ({ ...this.defaults, ...limits, project_id: projectId, tenant_id: projectId }));
  }

  /** Each kind's limit, and how many resources the project has (`used`) and is creating (`reserved`). */
  async details(projectId: string): Promise<Record<QuotaKind, QuotaDetail>> {
    const limits = await this.show(projectId);
    await this.catchUp();
    const counts = await this.prisma.quotaUsage.groupBy({ by: ['kind', 'confirmed'], where: { projectId }, _count: { _all: true } });
    const count = (kind: QuotaKind, confirmed: boolean) => counts.find((c) => c.kind === kind && c.confirmed === confirmed)?._count._all ?? 0;
    return Object.fromEntries(QUOTA_KINDS.map((kind) => [kind, { limit: limits[kind], used: count(kind, true), reserved: count(kind, false) }])) as Record<
      QuotaKind,
      QuotaDetail
    >;
  }
}
