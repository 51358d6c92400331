/**
 * `cmd.sg.*`: what IPAM asks of the security groups service when a port names its groups.
 *
 * `port_groups`: the groups a port of `projectId` names must exist and be that project's (an
 * admin's request: any project's), else `SG.SecurityGroupNotFound` (404). With `withDefault`,
 * the project's `default` group is made if it is not there yet (as Neutron does on first use)
 * and its id returned.
 */
export const SG_PORT_GROUPS = 'port_groups';

export interface SgPortGroupsInput {
  readonly projectId: string;
  readonly securityGroupIds: readonly string[];
  readonly withDefault: boolean;
}

export interface SgPortGroupsReply {
  /** the project's default group, when asked for */
  readonly defaultGroupId: string | null;
}
