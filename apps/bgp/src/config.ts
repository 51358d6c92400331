import { z } from 'zod';
import { baseConfigSchema, loadConfig } from '@ncp/nest-common';

export const bgpConfigSchema = baseConfigSchema.extend({
  PORT: z.coerce.number().int().min(1).max(65535).default(9704),
  /** An agent whose last heartbeat is older than this loses its (unpinned) speakers. */
  AGENT_DOWN_SECONDS: z.coerce.number().int().min(2).default(30),
  /** How often speakers are placed again (agents appearing or dying). */
  PLACEMENT_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(5),
  PAGINATION_MAX_LIMIT: z.coerce.number().int().min(0).default(0),
});
export type BgpConfig = z.infer<typeof bgpConfigSchema>;

export function bgpConfig(env: Record<string, string | undefined> = process.env): BgpConfig {
  return loadConfig(bgpConfigSchema, env);
}
