import { MetadataEndpointSchema, type MetadataEndpoint } from '@ncp/contracts';
import { z } from 'zod';

export const METADATA_IPV4 = '169.254.169.254';
export const METADATA_IPV6 = 'fe80::a9fe:a9fe';

/** What the proxy reads from its config file (the agent rewrites it atomically; the proxy re-reads it when it changes). */
export interface MetadataProxyConfig {
  readonly endpoints: readonly MetadataEndpoint[];
}

export const MetadataProxyConfigSchema: z.ZodType<MetadataProxyConfig> = z.object({ endpoints: z.array(MetadataEndpointSchema) });
