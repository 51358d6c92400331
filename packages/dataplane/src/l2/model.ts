import { isValidLinkName, isValidNetnsName } from '@ncp/contracts';
import { isValidIp } from '@ncp/netaddr';
import { z } from 'zod';

/** Static configuration of the host agent. */
export interface L2HostConfig {
  /** the namespace that stands for this host (null = the root namespace) */
  netns: string | null;
  /** this host's underlay address (VXLAN local) */
  tunnelIp: string;
  /** physical network name -> interface in the host namespace (e.g. { extnet0: 'eth1' }) */
  physnets: Record<string, string>;
}

const Ip = z.string().refine(isValidIp, 'must be an IPv4 or IPv6 address');
const LinkName = z.string().refine(isValidLinkName, 'must be an interface name (1-15 of A-Z a-z 0-9 _ . -)');
const NetnsName = z.string().refine(isValidNetnsName, 'must be a namespace name (1-64 of A-Z a-z 0-9 _ . -)');

export const L2HostConfigSchema: z.ZodType<L2HostConfig> = z.object({
  netns: NetnsName.nullable(),
  tunnelIp: Ip,
  physnets: z.record(z.string().min(1), LinkName),
});
