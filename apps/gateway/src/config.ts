import { z } from 'zod';
import { authConfigShape, loadConfig } from '@ncp/nest-common';

export const gatewayConfigSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(1).max(65535).default(9696),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Base URL of the IPAM service. */
  IPAM_URL: z.url().default('http://127.0.0.1:9701'),
  /** Base URL of the L3 service (routers, floating IPs). */
  L3_URL: z.url().default('http://127.0.0.1:9702'),
  /** Base URL of the DHCP service (DHCP servers' placement). */
  DHCP_URL: z.url().default('http://127.0.0.1:9703'),
  /** Base URL of the BGP service (speakers, peers, dynamic routing agents). */
  BGP_URL: z.url().default('http://127.0.0.1:9704'),
  /** Base URL of the metadata service (instances). */
  METADATA_URL: z.url().default('http://127.0.0.1:9705'),
  /** Base URL of the security groups service (security groups and their rules). */
  SECGROUPS_URL: z.url().default('http://127.0.0.1:9706'),
  /** The URL clients reach the gateway at, if not the Host they sent (behind a proxy). */
  PUBLIC_URL: z.url().optional(),
  ...authConfigShape,
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export function gatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSchema, env);
}
