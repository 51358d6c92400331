import { type CommandMetadata } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { type IpamPrisma } from '../infrastructure/prisma';
import { type BulkCreateCommands } from './bulk-create.commands';
import { type FollowUps } from './follow-ups';
import { serviceMeta } from '@ncp/contracts';
import { type IpamWriteModel } from './write-model';

export interface SweepReport {
  readonly segments: number;
  readonly prefixes: number;
  readonly scopeClaims: number;
  readonly defaultPools: number;
  /** Bulk creates a crash interrupted, undone (all or none). */
  readonly bulkCreates: number;
}

/**
 * Finishes sagas a crash interrupted: reservations whose resource never appeared or
 * is gone. Candidates come from the projection (older than the grace period, so sagas
 * still running are left alone); each is confirmed against the aggregate before
 * anything is released.
 */
export class OrphanSweeper {
  constructor(
    private readonly prisma: IpamPrisma,
    private readonly model: IpamWriteModel,
    private readonly followUps: FollowUps,
    private readonly graceSeconds: number,
    private readonly logger: Logger,
    private readonly bulkCreates: BulkCreateCommands,
  ) {}

  async sweep(now: Date): Promise<SweepReport> {
    const cutoff = new Date(now.getTime() - this.graceSeconds * 1000);
    const meta = serviceMeta('ipam:orphan-sweeper', now);
    const report = {
      segments: await this.sweepSegments(cutoff, meta),
      prefixes: await this.sweepPrefixes(cutoff, meta),
      scopeClaims: await this.sweepScopeClaims(cutoff, meta),
      defaultPools: await this.sweepDefaultPools(cutoff, meta),
      bulkCreates: await this.sweepBulkCreates(cutoff, meta),
    };
    if (Object.values(report).some((n) => n > 0)) this.logger.warn({ report }, 'released orphaned reservations');
    return report;
  }

  private async sweepSegments(cutoff: Date, meta: CommandMetadata): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ network_id: string }[]>`
      SELECT r.network_id FROM segment_reservations r
      WHERE r.reserved_at < ${cutoff} AND NOT EXISTS (SELECT 1 FROM networks n WHERE n.id = r.network_id)`;
    let released = 0;
    for (const { network_id: networkId } of rows) {
      if ((await this.model.networks.load(networkId)).state.exists) continue;
      if ((await this.followUps.releaseSegment(networkId, meta)) > 0) released++;
    }
    return released;
  }

  private async sweepPrefixes(cutoff: Date, meta: CommandMetadata): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ subnet_id: string; subnet_pool_id: string; network_id: string }[]>`
      SELECT a.subnet_id, a.subnet_pool_id, a.network_id FROM subnet_pool_allocations a
      WHERE a.allocated_at < ${cutoff} AND NOT EXISTS (SELECT 1 FROM subnets s WHERE s.id = a.subnet_id)`;
    let released = 0;
    for (const row of rows) {
      if ((await this.model.networks.load(row.network_id)).state.subnets.has(row.subnet_id)) continue;
      if ((await this.followUps.releasePrefix(row.subnet_pool_id, row.subnet_id, meta)) > 0) released++;
    }
    return released;
  }

  private async sweepScopeClaims(cutoff: Date, meta: CommandMetadata): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ address_scope_id: string; subnet_pool_id: string }[]>`
      SELECT DISTINCT c.address_scope_id, c.subnet_pool_id FROM address_scope_claims c
      LEFT JOIN subnet_pools p ON p.id = c.subnet_pool_id
      WHERE c.claimed_at < ${cutoff}
        AND (p.id IS NULL OR p.address_scope_id IS DISTINCT FROM c.address_scope_id OR NOT (c.prefix = ANY (p.prefixes)))`;
    let released = 0;
    for (const row of rows) {
      if ((await this.followUps.syncScopeClaims(row.address_scope_id, row.subnet_pool_id, meta)) > 0) released++;
    }
    return released;
  }

  private async sweepDefaultPools(cutoff: Date, meta: CommandMetadata): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ ip_version: number; subnet_pool_id: string }[]>`
      SELECT d.ip_version, d.subnet_pool_id FROM default_subnet_pools d
      LEFT JOIN subnet_pools p ON p.id = d.subnet_pool_id
      WHERE d.claimed_at < ${cutoff} AND (p.id IS NULL OR NOT p.is_default)`;
    let released = 0;
    for (const row of rows) {
      const pool = (await this.model.pools.load(row.subnet_pool_id)).state;
      if (pool.exists && pool.isDefault) continue;
      const version = row.ip_version === 6 ? 6 : 4;
      if ((await this.followUps.releaseDefaultPool(version, row.subnet_pool_id, meta)) > 0) released++;
    }
    return released;
  }

  private async sweepBulkCreates(cutoff: Date, meta: CommandMetadata): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`SELECT b.id FROM bulk_creates b WHERE b.started_at < ${cutoff}`;
    let undone = 0;
    for (const { id } of rows) {
      try {
        if (await this.bulkCreates.finishAbandoned(id, meta)) undone++;
      } catch (err) {
        this.logger.error({ err, bulkId: id }, 'abandoned bulk create not finished; the next sweep retries');
      }
    }
    return undone;
  }
}
