import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@ncp/nest-common';

export const l3ConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(1).max(65535).default(9702),
  /** An agent whose last heartbeat is older than this cannot be given routers. */
  AGENT_DOWN_SECONDS: z.coerce.number().int().min(2).default(30),
  /** How often routers without a host are placed again (when agents appear). */
  PLACEMENT_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(5),
  /** How long a router or floating IP port, claim or record may stay orphaned before the sweeper finishes its saga. */
  ORPHAN_GRACE_SECONDS: z.coerce.number().int().min(1).default(120),
  PAGINATION_MAX_LIMIT: z.coerce.number().int().min(0).default(0),
});
export type L3Config = z.infer<typeof l3ConfigSchema>;

export function l3Config(env: Record<string, string | undefined> = process.env): L3Config {
  return loadConfig(l3ConfigSchema, env);
}
