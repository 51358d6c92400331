import { z } from 'zod';
import { haAdvertSeconds } from '@ncp/contracts';
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
  /** Neutron's l3_ha: whether a router created without `ha` (only admins may give it) is an HA router. */
  L3_HA_DEFAULT: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * Seconds between an HA router's VRRP adverts (hundredths, 0.05 to 40; Neutron's
   * ha_vrrp_advert_int, set here so both hosts of a router agree): the standby takes over
   * about 3.8 intervals after the active host's last advert.
   */
  L3_HA_ADVERT_SECONDS: z.coerce.number().pipe(haAdvertSeconds).default(0.5),
  ...quotaConfigFields,
});
export type L3Config = z.infer<typeof l3ConfigSchema>;

export function l3Config(env: Record<string, string | undefined> = process.env): L3Config {
  return loadConfig(l3ConfigSchema, env);
}
