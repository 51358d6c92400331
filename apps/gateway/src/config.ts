import { z } from 'zod';
import { type ApiService } from '@ncp/contracts';
import { authConfigShape, loadConfig } from '@ncp/nest-common';
import { parseUpstreamList } from './upstreams';

/** One URL, or several (a service's replicas) separated by commas. */
const upstreamList = (dflt: string) =>
  z
    .string()
    .default(dflt)
    .refine(
      (v) => parseUpstreamList(v).length > 0 && parseUpstreamList(v).every((u) => z.url().safeParse(u).success),
      'one URL or several, separated by commas',
    )
    .transform(parseUpstreamList);

export const gatewayConfigSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(1).max(65535).default(9696),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Base URL of the IPAM service; several replicas' URLs separated by commas. */
  IPAM_URL: upstreamList('http://127.0.0.1:9701'),
  /** Base URL of the L3 service (routers, floating IPs); several replicas' URLs separated by commas. */
  L3_URL: upstreamList('http://127.0.0.1:9702'),
  /** Base URL of the DHCP service (DHCP servers' placement); several replicas' URLs separated by commas. */
  DHCP_URL: upstreamList('http://127.0.0.1:9703'),
  /** Base URL of the BGP service (speakers, peers, dynamic routing agents); several replicas' URLs separated by commas. */
  BGP_URL: upstreamList('http://127.0.0.1:9704'),
  /** Base URL of the metadata service (instances); several replicas' URLs separated by commas. */
  METADATA_URL: upstreamList('http://127.0.0.1:9705'),
  /** Base URL of the security groups service (security groups and their rules); several replicas' URLs separated by commas. */
  SECGROUPS_URL: upstreamList('http://127.0.0.1:9706'),
  /** The URL clients reach the gateway at, if not the Host they sent (behind a proxy). */
  PUBLIC_URL: z.url().optional(),
  ...authConfigShape,
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export function gatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSchema, env);
}

/** Each service's replicas, as the gateway balances over them. */
export function upstreamReplicas(config: GatewayConfig): Record<ApiService, string[]> {
  return {
    ipam: config.IPAM_URL,
    l3: config.L3_URL,
    dhcp: config.DHCP_URL,
    bgp: config.BGP_URL,
    metadata: config.METADATA_URL,
    secgroups: config.SECGROUPS_URL,
  };
}
