import { z } from 'zod';
import { loadConfig } from '@ncp/nest-common';
import { httpPort, serviceConfigSchema } from '@ncp/service-kit';

export const metadataConfigSchema = serviceConfigSchema.extend({
  PORT: httpPort(9705),
  /**
   * The secret the agents' metadata proxies sign the instance id with (HMAC-SHA256); the
   * same value goes to every agent. Required: an unsigned metadata service would serve anyone.
   */
  METADATA_PROXY_SHARED_SECRET: z.string().min(16, 'METADATA_PROXY_SHARED_SECRET must be at least 16 characters'),
  /** IMDSv2 only: EC2 metadata without a session token gets 401. */
  METADATA_REQUIRE_TOKEN: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** Served as every instance's availability zone when it was registered without one. */
  DEFAULT_AVAILABILITY_ZONE: z.string().min(1).max(255).default('nova'),
});
export type MetadataConfig = z.infer<typeof metadataConfigSchema>;

export function metadataConfig(env: Record<string, string | undefined> = process.env): MetadataConfig {
  return loadConfig(metadataConfigSchema, env);
}
