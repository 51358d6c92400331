import { ValidationError, isTrustedOwner, type SgPortGroupsInput } from '@ncp/contracts';
import { conflict, unique } from './rules';

/**
 * Neutron's port security semantics (ml2's port-security extension driver and
 * `_portsec_ext_port_create/update_processing`, securitygroups_db's default group on port,
 * allowedaddresspairs): which security groups a port ends up with, and what a port without
 * port security may not have.
 *
 * The groups themselves live in the security groups service. What IPAM needs of it (do the
 * named groups exist for the port's project, which is the project's default group) the command
 * carries as facts, asked for when the decision needs them (see PortGroupsQuestion); the
 * decision is made here on the network's state.
 */

/** What the security groups service answered to the question of an earlier run of the command. */
export interface PortGroupFacts {
  /** The named groups it found usable by the port's project (it refuses the whole request otherwise). */
  readonly confirmed: readonly string[];
  /** The port project's default group, when asked for. */
  readonly defaultSecurityGroupId: string | null;
}

/**
 * What the decider must know from the security groups service before it can decide: thrown by
 * a port command that needs an answer it does not carry. The port commands ask and run the
 * command again with the answer, so the service is asked only once IPAM's own checks pass and
 * only when the answer matters (never for a trusted port, one without port security or
 * address, or one naming no groups).
 */
export class PortGroupsQuestion extends Error {
  constructor(readonly question: SgPortGroupsInput) {
    super(`the port's security groups need the security groups service's answer (${JSON.stringify(question)})`);
  }
}

const portSecurityAndIpRequired = () =>
  new ValidationError(
    'IPAM.PortSecurityAndIPRequiredForSecurityGroups',
    'Port security must be enabled and port must have an IP address in order to use security groups.',
  );
const addressPairsNeedPortSecurity = () =>
  conflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');

/** The named groups, once the service has confirmed them all. */
function confirmedGroups(projectId: string, requested: readonly string[], facts: PortGroupFacts | undefined): string[] {
  const groups = unique(requested);
  if (groups.some((g) => !facts?.confirmed.includes(g))) throw new PortGroupsQuestion({ projectId, securityGroupIds: groups, withDefault: false });
  return groups;
}

export interface NewPortSecurity {
  readonly projectId: string;
  readonly deviceOwner: string;
  /** as requested; undefined: the network's */
  readonly portSecurityEnabled: boolean | undefined;
  readonly networkPortSecurity: boolean;
  /** as requested; undefined: not given */
  readonly securityGroups: readonly string[] | undefined;
  readonly hasIp: boolean;
  readonly addressPairs: number;
}

/**
 * A new port's port security and groups. A trusted port has no port security (ml2 sets it
 * off whatever is asked); groups need port security and an address; a port naming no
 * groups gets its project's default group when it is filtered, none otherwise.
 */
export function newPortSecurity(p: NewPortSecurity, facts: PortGroupFacts | undefined): { portSecurityEnabled: boolean; securityGroups: string[] } {
  const portSecurityEnabled = !isTrustedOwner(p.deviceOwner) && (p.portSecurityEnabled ?? p.networkPortSecurity);
  if (!portSecurityEnabled && p.addressPairs > 0) throw addressPairsNeedPortSecurity();
  const filtered = portSecurityEnabled && p.hasIp;
  if (p.securityGroups === undefined) {
    if (!filtered) return { portSecurityEnabled, securityGroups: [] };
    const dflt = facts?.defaultSecurityGroupId;
    if (dflt === undefined || dflt === null) throw new PortGroupsQuestion({ projectId: p.projectId, securityGroupIds: [], withDefault: true });
    return { portSecurityEnabled, securityGroups: [dflt] };
  }
  if (p.securityGroups.length === 0) return { portSecurityEnabled, securityGroups: [] };
  if (!filtered) throw portSecurityAndIpRequired();
  return { portSecurityEnabled, securityGroups: confirmedGroups(p.projectId, p.securityGroups, facts) };
}

export interface PortSecurityChange {
  readonly current: {
    readonly projectId: string;
    readonly portSecurityEnabled: boolean;
    readonly securityGroups: readonly string[];
    readonly addressPairs: number;
  };
  readonly portSecurityEnabled: boolean | undefined;
  /** [] clears */
  readonly securityGroups: readonly string[] | undefined;
  /** the number of pairs the request sets, if it sets them */
  readonly addressPairs: number | undefined;
  /** the port has an address after the update */
  readonly hasIp: boolean;
}

/**
 * A port update's groups (undefined: unchanged). A port without port security may not keep
 * address pairs, nor one without port security or an address its groups: they must be cleared
 * in the same request.
 */
export function changedPortGroups(c: PortSecurityChange, facts: PortGroupFacts | undefined): string[] | undefined {
  const enabled = c.portSecurityEnabled ?? c.current.portSecurityEnabled;
  if (!enabled && (c.addressPairs ?? c.current.addressPairs) > 0) throw addressPairsNeedPortSecurity();
  const filtered = enabled && c.hasIp;
  if (c.securityGroups !== undefined && c.securityGroups.length > 0) {
    if (!filtered) throw portSecurityAndIpRequired();
    return confirmedGroups(c.current.projectId, c.securityGroups, facts);
  }
  if ((c.securityGroups ?? c.current.securityGroups).length > 0 && !filtered) {
    throw conflict(
      'PortSecurityPortHasSecurityGroup',
      'Port has security group associated. Cannot disable port security or IP address until security group is removed.',
    );
  }
  return c.securityGroups === undefined ? undefined : [];
}
