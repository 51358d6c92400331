import { z } from 'zod';
import { baseConfigSchema } from '@ncp/nest-common';

/**
 * What every event-sourced service reads of its environment, declared once; each service's
 * `config.ts` extends it with its port and the settings below that it uses, then its own.
 */
export const serviceConfigSchema = baseConfigSchema.extend({
  /** Largest page a list returns (Neutron's pagination_max_limit); 0 = unlimited. */
  PAGINATION_MAX_LIMIT: z.coerce.number().int().min(0).default(0),
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
