import { isValidIp } from '@ncp/netaddr';
import { z } from 'zod';
import { isValidId, isValidLinkName, isValidNetnsName } from './names';

/**
 * Desired state of one metadata proxy: the router's (or, on a network without a router, the
 * DHCP server's) namespace answers on 169.254.169.254:80 and [fe80::a9fe:a9fe]:80 for the
 * instances behind it. `endpoints` is who may ask: the proxy finds the caller by its source
 * address (IPv4, or IPv6 global), or for an IPv6 link-local source by the MAC the namespace's
 * neighbour table has for it, and exactly one endpoint must match.
 */
export interface MetadataEndpoint {
  readonly portId: string;
  readonly instanceId: string;
  readonly projectId: string;
  /** lower case, colon separated */
  readonly mac: string;
  /** the port's fixed addresses (no prefix length) */
  readonly addresses: readonly string[];
}

export interface MetadataProxyIntent {
  /** the router's id (kind router) or the network's (kind dhcp) */
  readonly id: string;
  readonly kind: 'router' | 'dhcp';
  /** `qrouter-<8>` or `qdhcp-<8>` */
  readonly namespace: string;
  /**
   * Where fe80::a9fe:a9fe goes: one interface (`qr-...`, `ns-...`) per network the namespace
   * serves, so one neighbour answers for it on each segment; none of the namespace's other
   * interfaces has it.
   */
  readonly interfaces: readonly string[];
  readonly endpoints: readonly MetadataEndpoint[];
}

const Id = z.string().refine(isValidId, 'must be a UUID');
const Mac = z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'must be a lower-case MAC address');

export const MetadataEndpointSchema: z.ZodType<MetadataEndpoint> = z.object({
  portId: Id,
  instanceId: z.string().min(1).max(255),
  projectId: z.string().max(255),
  mac: Mac,
  addresses: z.array(z.string().refine(isValidIp, 'must be an IP address')),
});

export const MetadataProxyIntentSchema: z.ZodType<MetadataProxyIntent> = z.object({
  id: Id,
  kind: z.enum(['router', 'dhcp']),
  namespace: z.string().refine(isValidNetnsName, 'must be a namespace name'),
  interfaces: z.array(z.string().refine(isValidLinkName, 'must be an interface name')),
  endpoints: z.array(MetadataEndpointSchema),
});
