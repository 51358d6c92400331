import { type z } from 'zod';
import { loadConfig } from '@ncp/nest-common';
import { AGENT_DOWN_SECONDS, PLACEMENT_INTERVAL_SECONDS, httpPort, serviceConfigSchema } from '@ncp/service-kit';

export const bgpConfigSchema = serviceConfigSchema.extend({
  PORT: httpPort(9704),
  /** An agent whose last heartbeat is older than this loses its (unpinned) speakers. */
  AGENT_DOWN_SECONDS,
  /** How often speakers are placed again (agents appearing or dying). */
  PLACEMENT_INTERVAL_SECONDS,
});
export type BgpConfig = z.infer<typeof bgpConfigSchema>;

export function bgpConfig(env: Record<string, string | undefined> = process.env): BgpConfig {
  return loadConfig(bgpConfigSchema, env);
}
