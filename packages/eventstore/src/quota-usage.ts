import {
  USAGE_AGGREGATE,
  serviceMeta,
  usageDecider,
  type CommandMetadata,
  type QuotaEvent,
  type QuotaKind,
  type QuotaLimits,
  type RecordedEvent,
  type UsageCommand,
  type UsageEvent,
  type UsageState,
} from '@ncp/contracts';
import { someTypes, type Fold } from './event-folds';
import { type JetStreamEventStore } from './event-store';
import { type Reaction } from './reaction-runner';
import { AggregateRepository } from './repository';

/**
 * What one of a service's events creates and deletes, as its quotas count them. A created item
 * without `projectId` is its parent's (a security group's rule); deleting an item deletes its
 * children (a network's subnets and ports, a group's rules).
 */
export interface UsageChange {
  readonly created: readonly { kind: QuotaKind; id: string; projectId?: string; parentId?: string }[];
  readonly deleted: readonly { kind: QuotaKind; id: string }[];
}

/** A row of a service's `quota_usage_items`: who owns a counted resource, and whether its reservation is still pending. */
export interface UsageItemRow {
  id: string;
  kind: string;
  projectId: string;
  parentId: string | null;
  reservedAt: Date | null;
}

/** What the usage reaction uses of the Prisma delegate of `quota_usage_items` (every service's has these). */
export interface UsageItemsDelegate {
  findMany(args: { where: object }): PromiseLike<UsageItemRow[]>;
  createMany(args: { data: UsageItemRow[]; skipDuplicates: boolean }): PromiseLike<unknown>;
  upsert(args: { where: { id: string }; create: UsageItemRow; update: Partial<UsageItemRow> }): PromiseLike<unknown>;
  updateMany(args: { where: object; data: Partial<UsageItemRow> }): PromiseLike<unknown>;
  deleteMany(args: { where: object }): PromiseLike<unknown>;
}

export interface QuotaUsageOptions {
  /** The project's limit of a kind (-1: unlimited). */
  readonly limitOf: (projectId: string, kind: QuotaKind) => Promise<number>;
  readonly items: UsageItemsDelegate;
  /** A reservation pending longer than this belongs to a create that died: the sweep releases it. */
  readonly reservationSeconds: number;
  readonly onError?: (err: unknown, msg: string) => void;
}

/** Items by project and kind, as the usage commands take them. */
function byProjectAndKind(items: readonly { projectId: string; kind: string; id: string }[]): [string, QuotaKind, string[]][] {
  const groups = new Map<string, [string, QuotaKind, string[]]>();
  for (const i of items) {
    const key = `${i.projectId}\u0000${i.kind}`;
    const group = groups.get(key) ?? [i.projectId, i.kind as QuotaKind, []];
    group[2].push(i.id);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * A service's quota usage: each project's usage aggregate (`ev.<context>.usage.<project id>`),
 * the API's reservation around a create, the reaction that counts what was created and
 * deleted, and the sweep of reservations whose create died.
 */
export class QuotaUsage {
  readonly usage: AggregateRepository<UsageState, UsageCommand, UsageEvent>;

  constructor(
    store: JetStreamEventStore,
    readonly context: string,
    private readonly opts: QuotaUsageOptions,
  ) {
    this.usage = new AggregateRepository(store, usageDecider(context), { cacheSize: 1000 });
  }

  /**
   * An API create of `ids` (all of a bulk at once) under the project's quota: reserves them
   * (OverQuota when the project would exceed its limit), runs the create, releases them when
   * the create fails. The reaction confirms them once their created events are seen.
   */
  async guard<T>(projectId: string, kind: QuotaKind, ids: readonly string[], meta: CommandMetadata, create: () => Promise<T>): Promise<T> {
    const limit = await this.opts.limitOf(projectId, kind);
    await this.usage.execute(projectId, { type: 'Reserve', kind, ids, limit }, meta);
    try {
      return await create();
    } catch (e) {
      await this.usage
        .execute(projectId, { type: 'Release', kind, ids, pendingOnly: true }, meta)
        .catch((err: unknown) => this.opts.onError?.(err, 'quota reservation not released; the sweep will'));
      throw e;
    }
  }

  /** `guard` of a bulk create, whose items may be several projects' (an admin's request): each project's ids reserved at once. */
  async guardAll<T>(kind: QuotaKind, items: readonly { projectId: string; id: string }[], meta: CommandMetadata, create: () => Promise<T>): Promise<T> {
    const groups = byProjectAndKind(items.map((i) => ({ ...i, kind })));
    const run = (i: number): Promise<T> => {
      const group = groups[i];
      return group ? this.guard(group[0], kind, group[2], meta, () => run(i + 1)) : create();
    };
    return run(0);
  }

  /**
   * The reaction to the service's own events (`filter`: its context): confirms what `changesOf`
   * says was created, releases what was deleted, and keeps `quota_usage_items` (who owns what,
   * which reservations are pending) for deletions and the sweep. Every step is idempotent.
   */
  reaction(name: string, filter: string, changesOf: (recorded: RecordedEvent) => UsageChange | null): Reaction {
    return { name, filter, handle: (recorded) => this.handle(recorded, changesOf) };
  }

  private async handle(recorded: RecordedEvent, changesOf: (recorded: RecordedEvent) => UsageChange | null): Promise<void> {
    const e = recorded.envelope;
    const { items } = this.opts;
    if (e.aggregate === USAGE_AGGREGATE) {
      const event = { type: e.type, data: e.data } as UsageEvent;
      const ids = event.data.ids;
      switch (event.type) {
        case 'UsageReserved':
          await items.createMany({
            data: ids.map((id) => ({ id, kind: event.data.kind, projectId: e.aggregateId, parentId: null, reservedAt: new Date(event.data.at) })),
            skipDuplicates: true,
          });
          return;
        case 'UsageConfirmed':
          await items.updateMany({ where: { id: { in: ids } }, data: { reservedAt: null } });
          return;
        case 'UsageReleased':
          await items.deleteMany({ where: { id: { in: ids }, projectId: e.aggregateId } });
          return;
      }
    }
    const change = changesOf(recorded);
    if (!change) return;
    const meta: CommandMetadata = { ...serviceMeta(`${this.context}:quota`, new Date(e.occurredAt)), correlationId: e.correlationId, causationId: e.id };
    if (change.created.length > 0) {
      // only an item without a project of its own (a rule) takes its parent's
      const parentIds = change.created.flatMap((c) => (c.projectId === undefined && c.parentId ? [c.parentId] : []));
      const parents = parentIds.length === 0 ? [] : await items.findMany({ where: { id: { in: parentIds } } });
      const created = change.created.flatMap((c) => {
        const projectId = c.projectId ?? parents.find((p) => p.id === c.parentId)?.projectId;
        return projectId === undefined ? [] : [{ ...c, projectId, parentId: c.parentId ?? null }];
      });
      for (const c of created) {
        await items.upsert({
          where: { id: c.id },
          create: { id: c.id, kind: c.kind, projectId: c.projectId, parentId: c.parentId, reservedAt: null },
          update: { kind: c.kind, projectId: c.projectId, parentId: c.parentId, reservedAt: null },
        });
      }
      for (const [projectId, kind, ids] of byProjectAndKind(created)) await this.usage.execute(projectId, { type: 'Confirm', kind, ids }, meta);
    }
    if (change.deleted.length > 0) {
      const ids = change.deleted.map((d) => d.id);
      const gone = await items.findMany({ where: { OR: [{ id: { in: ids } }, { parentId: { in: ids } }] } });
      for (const [projectId, kind, owned] of byProjectAndKind(gone)) await this.usage.execute(projectId, { type: 'Release', kind, ids: owned }, meta);
      // after the releases: a redelivery after a crash in between finds the owners again
      await items.deleteMany({ where: { id: { in: gone.map((g) => g.id) } } });
    }
  }

  /** Releases the reservations pending longer than allowed (the usage decider decides which, at `now`). */
  async sweep(now: Date): Promise<void> {
    const before = new Date(now.getTime() - this.opts.reservationSeconds * 1000);
    const stale = await this.opts.items.findMany({ where: { reservedAt: { lt: before } } });
    const meta = serviceMeta(`${this.context}:quota-sweep`, now);
    for (const [projectId, kind] of byProjectAndKind(stale)) {
      await this.usage.execute(projectId, { type: 'ReleaseExpired', kind, now: now.toISOString(), maxAgeSeconds: this.opts.reservationSeconds }, meta);
    }
  }
}

/** What the limits fold and reader use of the Prisma delegate of `quota_limits`. */
export interface QuotaLimitsDelegate {
  findMany(args: { where: { projectId: string } }): PromiseLike<{ kind: string; limit: number }[]>;
  upsert(args: {
    where: { projectId_kind: { projectId: string; kind: string } };
    create: { projectId: string; kind: string; limit: number };
    update: { limit: number };
  }): PromiseLike<unknown>;
  deleteMany(args: { where: { projectId: string } }): PromiseLike<unknown>;
}

/** Folds IPAM's quota events (`ev.ipam.quota.<project id>`) into a service's `quota_limits`: the overrides of each project. */
export function quotaLimitsFold<Tx>(limits: (tx: Tx) => QuotaLimitsDelegate): Fold<Tx> {
  return someTypes<Tx, QuotaEvent>({
    QuotaLimitsSet: async (tx, { id, data }) => {
      for (const [kind, limit] of Object.entries(data.limits)) {
        await limits(tx).upsert({ where: { projectId_kind: { projectId: id, kind } }, create: { projectId: id, kind, limit }, update: { limit } });
      }
    },
    QuotaLimitsReset: async (tx, { id }) => {
      await limits(tx).deleteMany({ where: { projectId: id } });
    },
  });
}

/** A project's limit of a kind from a projection of the quota events: its override, else the default. */
export function projectedLimitOf(limits: QuotaLimitsDelegate, defaults: QuotaLimits): (projectId: string, kind: QuotaKind) => Promise<number> {
  return async (projectId, kind) => (await limits.findMany({ where: { projectId } })).find((l) => l.kind === kind)?.limit ?? defaults[kind];
}
