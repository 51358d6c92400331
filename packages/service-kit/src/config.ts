import { z } from 'zod';
import { NEUTRON_QUOTA_DEFAULTS, type QuotaKind, type QuotaLimits } from '@ncp/contracts';
import { baseConfigSchema } from '@ncp/nest-common';

/**
 * What every event-sourced service reads of its environment, declared once; each service's
 * `config.ts` extends it with its port and the settings below that it uses, then its own.
 */
export const serviceConfigSchema = baseConfigSchema.extend({
  /** Largest page a list returns (Neutron's pagination_max_limit); 0 = unlimited. */
  PAGINATION_MAX_LIMIT: z.coerce.number().int().min(0).default(0),
  /**
   * Replicas of the event stream and the KV buckets the service creates: 1 on one NATS server,
   * 3 on a three-node cluster. The first service to create a bucket sets its replicas; the
   * stream is brought to this figure at every start.
   */
  NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /**
   * How long a replica's leadership (of reactions, publishers, placement loops, sweepers) lasts
   * without renewal: after the leader dies, another replica takes over within this time.
   */
  LEADER_LEASE_SECONDS: z.coerce.number().min(1).max(300).default(5),
});
export type ServiceConfig = z.infer<typeof serviceConfigSchema>;

/** The HTTP port, each service with its own default. */
export const httpPort = (defaultPort: number) => z.coerce.number().int().min(1).max(65535).default(defaultPort);

/** An agent whose last heartbeat is older than this is dead: it gets nothing new, and loses what it ran. */
export const AGENT_DOWN_SECONDS = z.coerce.number().int().min(2).default(30);
/** How often what needs an agent (routers, DHCP servers, speakers) is placed again, when agents appear or die. */
export const PLACEMENT_INTERVAL_SECONDS = z.coerce.number().int().min(1).default(5);
/** How long a saga's reservation (segment, prefix, port, claim) may stay orphaned before the sweeper finishes it. */
export const ORPHAN_GRACE_SECONDS = z.coerce.number().int().min(1).default(120);

const quotaLimit = (dflt: number) => z.coerce.number().int().min(-1).default(dflt);

/**
 * The default quotas of every project (Neutron's `quota_<kind>` options, as `QUOTA_<KIND>`;
 * -1 = unlimited), and how long an API create's reservation may stay pending before the sweep
 * releases it. Every service that enforces quotas reads them all: IPAM answers the defaults.
 */
export const quotaConfigFields = {
  QUOTA_NETWORK: quotaLimit(NEUTRON_QUOTA_DEFAULTS.network),
  QUOTA_SUBNET: quotaLimit(NEUTRON_QUOTA_DEFAULTS.subnet),
  QUOTA_PORT: quotaLimit(NEUTRON_QUOTA_DEFAULTS.port),
  QUOTA_ROUTER: quotaLimit(NEUTRON_QUOTA_DEFAULTS.router),
  QUOTA_FLOATINGIP: quotaLimit(NEUTRON_QUOTA_DEFAULTS.floatingip),
  QUOTA_SECURITY_GROUP: quotaLimit(NEUTRON_QUOTA_DEFAULTS.security_group),
  QUOTA_SECURITY_GROUP_RULE: quotaLimit(NEUTRON_QUOTA_DEFAULTS.security_group_rule),
  QUOTA_SUBNETPOOL: quotaLimit(NEUTRON_QUOTA_DEFAULTS.subnetpool),
  QUOTA_RESERVATION_SECONDS: z.coerce.number().int().min(1).default(120),
};

/** The default limits of a configuration read with `quotaConfigFields`, by kind. */
export function quotaDefaults(config: Readonly<Record<`QUOTA_${Uppercase<QuotaKind>}`, number>>): QuotaLimits {
  return {
    network: config.QUOTA_NETWORK,
    subnet: config.QUOTA_SUBNET,
    port: config.QUOTA_PORT,
    router: config.QUOTA_ROUTER,
    floatingip: config.QUOTA_FLOATINGIP,
    security_group: config.QUOTA_SECURITY_GROUP,
    security_group_rule: config.QUOTA_SECURITY_GROUP_RULE,
    subnetpool: config.QUOTA_SUBNETPOOL,
  };
}
