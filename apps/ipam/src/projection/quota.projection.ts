import { type Naming, type UsageEvent } from '@ncp/contracts';
import { WholeStreamProjection, byType, quotaLimitsFold, type Fold } from '@ncp/eventstore';
import { type IpamTx } from '../infrastructure/prisma';
import { applyUsageRun, isUsageEvent } from './usage-rows';

/** Each usage event alone: what a run folded set-wise (`applyUsageRun`) must equal. */
const usageEach = byType<IpamTx, UsageEvent>({
  UsageReserved: (tx, { id, data }) =>
    tx.quotaUsage.createMany({ data: data.ids.map((i) => ({ id: i, kind: data.kind, projectId: id, confirmed: false })), skipDuplicates: true }),
  UsageConfirmed: async (tx, { id, data }) => {
    for (const i of data.ids) {
      await tx.quotaUsage.upsert({
        where: { kind_id: { kind: data.kind, id: i } },
        create: { id: i, kind: data.kind, projectId: id, confirmed: true },
        update: { projectId: id, confirmed: true },
      });
    }
  },
  UsageReleased: (tx, { id, data }) => tx.quotaUsage.deleteMany({ where: { kind: data.kind, id: { in: data.ids }, projectId: id } }),
});

/** Each project's counted resources, from the usage events of the three services that count them. */
const usage: Fold<IpamTx> = {
  ...usageEach,
  applyRun: (tx, run) =>
    applyUsageRun(
      tx,
      run.map((e) => {
        if (!isUsageEvent(e)) throw new Error(`#${e.sequence} ${e.envelope.type} on ${e.envelope.aggregate} is not a usage event`);
        return e;
      }),
    ),
};

/**
 * What `/v2.0/quotas` lists and `details` counts: the projects' overrides (IPAM's quota
 * events) and the resources counted by IPAM, L3 and the security groups service (their usage
 * events, `ev.<context>.usage.<project id>`).
 */
export class QuotaProjection extends WholeStreamProjection<IpamTx> {
  constructor(naming: Naming) {
    super('ipam-quotas', naming, { ipam: ['quota', 'usage'], l3: ['usage'], sg: ['usage'] }, ['quota_limits', 'quota_usage'], {
      quota: quotaLimitsFold((tx) => tx.quotaLimit),
      usage,
    });
  }
}
