import { z } from 'zod';
import { defineEvent, type EventsOf } from '../event-registry';

/**
 * Neutron's quotas (the quotasv2 and quota_details extensions). The kinds of resource a project's
 * limits count, by Neutron's names; -1 means unlimited.
 */
export const QUOTA_KINDS = ['network', 'subnet', 'port', 'router', 'floatingip', 'security_group', 'security_group_rule', 'subnetpool'] as const;
export type QuotaKind = (typeof QUOTA_KINDS)[number];
export const quotaKind = z.enum(QUOTA_KINDS);
export type QuotaLimits = Readonly<Record<QuotaKind, number>>;

/** Neutron's defaults (neutron/conf/quota.py), each configurable as `QUOTA_<KIND>`. */
export const NEUTRON_QUOTA_DEFAULTS: QuotaLimits = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
  subnetpool: -1,
};

/** Which service counts (and enforces) which kinds: each keeps a usage aggregate per project. */
export const QUOTA_KINDS_OF_CONTEXT = {
  ipam: ['network', 'subnet', 'port', 'subnetpool'],
  l3: ['router', 'floatingip'],
  sg: ['security_group', 'security_group_rule'],
} as const satisfies Record<string, readonly QuotaKind[]>;

/** A project's limits that differ from the defaults: IPAM's `ev.ipam.quota.<project id>`. */
export const QUOTA_AGGREGATE = 'quota';
/** A project's counted resources in one service: `ev.<context>.usage.<project id>`. */
export const USAGE_AGGREGATE = 'usage';

const limit = z.number().int().min(-1);

/** The limits named were set (the others stay as they were). */
export const QuotaLimitsSet = defineEvent('QuotaLimitsSet', z.object({ limits: z.partialRecord(quotaKind, limit) }));
/** Every limit is the default again. */
export const QuotaLimitsReset = defineEvent('QuotaLimitsReset', z.object({}));
export const quotaEventDefinitions = [QuotaLimitsSet, QuotaLimitsReset] as const;
export type QuotaEvent = EventsOf<typeof quotaEventDefinitions>;

const ids = z.array(z.string().min(1)).min(1);
/** Ids counted as pending: an API create is under way (`at`: when it was reserved). */
export const UsageReserved = defineEvent('UsageReserved', z.object({ kind: quotaKind, ids, at: z.string() }));
/** Ids counted as existing: their created events were seen. */
export const UsageConfirmed = defineEvent('UsageConfirmed', z.object({ kind: quotaKind, ids }));
/** Ids no longer counted: deleted, their create failed, or their reservation expired. */
export const UsageReleased = defineEvent('UsageReleased', z.object({ kind: quotaKind, ids }));
export const usageEventDefinitions = [UsageReserved, UsageConfirmed, UsageReleased] as const;
export type UsageEvent = EventsOf<typeof usageEventDefinitions>;
