import { type z } from 'zod';
import { loadConfig } from '@ncp/nest-common';
import { httpPort, quotaConfigFields, serviceConfigSchema } from '@ncp/service-kit';

export const secgroupsConfigSchema = serviceConfigSchema.extend({
  PORT: httpPort(9706),
  ...quotaConfigFields,
});
export type SecgroupsConfig = z.infer<typeof secgroupsConfigSchema>;

export function secgroupsConfig(env: Record<string, string | undefined> = process.env): SecgroupsConfig {
  return loadConfig(secgroupsConfigSchema, env);
}
