import { z } from 'zod';
import { loadConfig } from '@ncp/nest-common';
import { AGENT_DOWN_SECONDS, ORPHAN_GRACE_SECONDS, httpPort, quotaConfigFields, serviceConfigSchema } from '@ncp/service-kit';

const range = z
  .string()
  .regex(/^\d+:\d+$/, 'expected <min>:<max>')
  .transform((s) => {
    const [min, max] = s.split(':').map(Number) as [number, number];
    return [min, max] as const;
  });

/** `physnet1:100:199,physnet2:10:20` */
const vlanRanges = z
  .string()
  .regex(/^$|^([\w-]+:\d+:\d+)(,[\w-]+:\d+:\d+)*$/, 'expected <physnet>:<min>:<max>[,...]')
  .transform((s) =>
    Object.fromEntries(
      s
        .split(',')
        .filter((e) => e !== '')
        .map((e) => {
          const [name, min, max] = e.split(':') as [string, string, string];
          return [name, [Number(min), Number(max)] as const];
        }),
    ),
  );

export const ipamConfigSchema = serviceConfigSchema.extend({
  PORT: httpPort(9701),
  /** Prefix of generated MACs (Neutron's base_mac). */
  MAC_PREFIX: z
    .string()
    .regex(/^([0-9a-fA-F]{2}:){0,4}[0-9a-fA-F]{2}$/)
    .default('fa:16:3e'),
  TENANT_NETWORK_TYPE: z.enum(['vxlan', 'vlan', 'flat', 'local']).default('vxlan'),
  VXLAN_VNI_RANGE: range.prefault('1001:2000000'),
  VLAN_RANGES: vlanRanges.prefault(''),
  /** Physical networks flat/VLAN networks may use; `*` accepts any. */
  PHYSICAL_NETWORKS: z.string().default('*'),
  /** MTU of the physical networks (Neutron's global_physnet_mtu). */
  PHYSICAL_MTU: z.coerce.number().int().min(576).max(65535).default(1500),
  /** How long a saga's reservation may exist without its resource before it is released. */
  ORPHAN_GRACE_SECONDS,
  /** An agent whose last heartbeat is older than this is dead, and its ports go DOWN. */
  AGENT_DOWN_SECONDS,
  ...quotaConfigFields,
});
export type IpamConfig = z.infer<typeof ipamConfigSchema>;

export function ipamConfig(env: Record<string, string | undefined> = process.env): IpamConfig {
  return loadConfig(ipamConfigSchema, env);
}
