import { z } from 'zod';

/**
 * `cmd.sg.*`: what IPAM asks of the security groups service when a port names its groups.
 *
 * `port_groups`: the groups a port of `projectId` names must exist and be that project's (an
 * admin's request: any project's), else `SG.SecurityGroupNotFound` (404). With `withDefault`,
 * the project's `default` group is made if it is not there yet (as Neutron does on first use)
 * and its id returned.
 */
export const SG_PORT_GROUPS = 'port_groups';

export const SgPortGroupsInputSchema = z.strictObject({
  projectId: z.string().min(1).max(255),
  securityGroupIds: z.array(z.string().max(255)).max(100),
  withDefault: z.boolean(),
});
export type SgPortGroupsInput = z.infer<typeof SgPortGroupsInputSchema>;

export interface SgPortGroupsReply {
  /** the project's default group, when asked for */
  readonly defaultGroupId: string | null;
}
