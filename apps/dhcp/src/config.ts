import { z } from 'zod';
import { ConfigError, loadConfig } from '@ncp/nest-common';
import { AGENT_DOWN_SECONDS, PLACEMENT_INTERVAL_SECONDS, httpPort, serviceConfigSchema } from '@ncp/service-kit';

export const dhcpConfigSchema = serviceConfigSchema.extend({
  PORT: httpPort(9703),
  /** An agent whose last heartbeat is older than this gets no DHCP server, and loses its own. */
  AGENT_DOWN_SECONDS,
  /** How often servers are placed and repaired again (agents appearing or dying). */
  PLACEMENT_INTERVAL_SECONDS,
  /** Domain handed out with every lease (Neutron's dns_domain default). */
  DHCP_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/)
    .default('openstacklocal'),
  /** Lease time in seconds (Neutron's dhcp_lease_duration default). */
  DHCP_LEASE_SECONDS: z.coerce.number().int().min(120).default(86400),
  /** Router lifetime in RAs, seconds; 0 advertises no default router. */
  RA_ROUTER_LIFETIME: z.coerce.number().int().min(0).max(9000).default(30),
  RA_VALID_LIFETIME: z.coerce.number().int().min(0).default(86400),
  RA_PREFERRED_LIFETIME: z.coerce.number().int().min(0).default(14400),
  /** Seconds between unsolicited RAs (radvd: 3 <= min <= 0.75 max). */
  RA_MIN_INTERVAL: z.coerce.number().int().min(3).default(3),
  RA_MAX_INTERVAL: z.coerce.number().int().min(4).max(1800).default(10),
});
export type DhcpConfig = z.infer<typeof dhcpConfigSchema>;

export function dhcpConfig(env: Record<string, string | undefined> = process.env): DhcpConfig {
  const config = loadConfig(dhcpConfigSchema, env);
  if (config.RA_MIN_INTERVAL > 0.75 * config.RA_MAX_INTERVAL) {
    throw new ConfigError(`RA_MIN_INTERVAL (${config.RA_MIN_INTERVAL}) must be at most 0.75 x RA_MAX_INTERVAL (${config.RA_MAX_INTERVAL})`);
  }
  if (config.RA_ROUTER_LIFETIME !== 0 && config.RA_ROUTER_LIFETIME < config.RA_MAX_INTERVAL) {
    throw new ConfigError(`RA_ROUTER_LIFETIME (${config.RA_ROUTER_LIFETIME}) must be 0 or at least RA_MAX_INTERVAL (${config.RA_MAX_INTERVAL})`);
  }
  if (config.RA_PREFERRED_LIFETIME > config.RA_VALID_LIFETIME) {
    throw new ConfigError(`RA_PREFERRED_LIFETIME (${config.RA_PREFERRED_LIFETIME}) must not exceed RA_VALID_LIFETIME (${config.RA_VALID_LIFETIME})`);
  }
  return config;
}
