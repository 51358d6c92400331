import { type z } from 'zod';
import { loadConfig } from '@ncp/nest-common';
import { AGENT_DOWN_SECONDS, ORPHAN_GRACE_SECONDS, PLACEMENT_INTERVAL_SECONDS, httpPort, quotaConfigFields, serviceConfigSchema } from '@ncp/service-kit';

export const l3ConfigSchema = serviceConfigSchema.extend({
  PORT: httpPort(9702),
  /** An agent whose last heartbeat is older than this cannot be given routers. */
  AGENT_DOWN_SECONDS,
  /** How often routers without a host are placed again (when agents appear). */
  PLACEMENT_INTERVAL_SECONDS,
  /** How long a router or floating IP port, claim or record may stay orphaned before the sweeper finishes its saga. */
  ORPHAN_GRACE_SECONDS,
  ...quotaConfigFields,
});
export type L3Config = z.infer<typeof l3ConfigSchema>;

export function l3Config(env: Record<string, string | undefined> = process.env): L3Config {
  return loadConfig(l3ConfigSchema, env);
}
