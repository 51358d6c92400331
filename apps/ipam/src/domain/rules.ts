import {
  authorize,
  enforce,
  neutronRules,
  rbacGrants,
  refusedAttribute,
  type CommandMetadata,
  type PolicyAction,
  type PolicyTarget,
  type RbacEntry,
} from '@ncp/contracts';
import { NetaddrError, parseCidr, parseIp, type Cidr, type IpAddress } from '@ncp/netaddr';

/**
 * Shared rules and error constructors of the IPAM deciders. Error codes are
 * `IPAM.<NeutronExceptionName>`, so the API edge can answer with Neutron's error type.
 */

export const { badRequest, invalidInput, notFound, conflict, checkRevision } = neutronRules('IPAM');

/** A network, a subnet pool or an address scope as the policy sees it: its project and its RBAC entries. */
export interface SharedObject {
  readonly projectId: string;
  readonly rbac: readonly RbacEntry[];
}

/** The policy target of a network, a subnet pool or an address scope for a caller: its project, whether its entries share it with (or make it external for) the caller's project. */
export function ownedTarget(o: SharedObject, meta: Pick<CommandMetadata, 'projectId'>): PolicyTarget {
  return {
    projectId: o.projectId,
    sharedWithCaller: rbacGrants(o.rbac, 'access_as_shared', meta.projectId),
    externalForCaller: rbacGrants(o.rbac, 'access_as_external', meta.projectId),
  };
}

/** A subnet's or a port's target for a caller: its own project, and its network's owner and entries. */
export function onNetworkTarget(
  network: SharedObject,
  item: { projectId: string; deviceOwner?: string },
  meta: Pick<CommandMetadata, 'projectId'>,
): PolicyTarget {
  return { ...ownedTarget(network, meta), projectId: item.projectId, networkProjectId: network.projectId, deviceOwner: item.deviceOwner };
}

/** Whether Neutron's `get_<resource>` rule lets the caller see the target. */
export const canSee = (meta: CommandMetadata, get: PolicyAction, target: PolicyTarget): boolean => authorize(get, meta, target);

/**
 * Neutron's order for a change: a resource the caller may not see is not found (`missing`), one
 * it sees but may not change is a 403 naming the rule.
 */
export function mayChange(meta: CommandMetadata, get: PolicyAction, action: PolicyAction, target: PolicyTarget, missing: () => Error): void {
  if (!authorize(get, meta, target)) throw missing();
  enforce('IPAM', action, meta, target);
}

/** A 403 naming the rule unless the caller passes it. */
export const requirePolicy = (meta: CommandMetadata, action: PolicyAction, target: PolicyTarget = {}): void => enforce('IPAM', action, meta, target);

/** Parses a CIDR from user input, normalising host bits away like Neutron does for pools. */
export function cidrInput(attribute: string, text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (e) {
    throw badRequest(`Invalid input for ${attribute}. Reason: '${text}' is not a valid IP subnet.`, reasonOf(e));
  }
}

export function ipInput(attribute: string, text: string): IpAddress {
  try {
    return parseIp(text);
  } catch (e) {
    throw badRequest(`Invalid input for ${attribute}. Reason: '${text}' is not a valid IP address.`, reasonOf(e));
  }
}

function reasonOf(e: unknown): string {
  return e instanceof NetaddrError ? e.message : '';
}

/** Neutron's limits on address families. */
export function maxPrefixLength(version: 4 | 6): number {
  return version === 4 ? 32 : 128;
}

/** Lists keep the caller's order but lose duplicates. */
export function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** What a port create or update sets, as the fields the port deciders read. */
export interface PortAttributes {
  readonly macAddress?: string;
  readonly fixedIps?: readonly { subnetId?: string; ipAddress?: string }[];
  readonly deviceOwner?: string;
  readonly portSecurityEnabled?: boolean;
  readonly allowedAddressPairs?: readonly { ipAddress?: string; macAddress?: string }[];
  readonly bindingHostId?: string;
  readonly bindingProfile?: Record<string, unknown>;
}

/**
 * The first of a port's attribute rules (`<action>:<attribute>[:<key>]`) that fails for what
 * the request sets. A create's defaults (no device owner, no host, no pairs) count as not set;
 * an update sets what it names.
 */
export function refusedPortAttribute(
  action: 'create_port' | 'update_port',
  meta: CommandMetadata,
  target: PolicyTarget,
  r: PortAttributes,
): string | undefined {
  const create = action === 'create_port';
  const set: string[] = [];
  if (r.fixedIps !== undefined) {
    set.push('fixed_ips');
    if (r.fixedIps.some((f) => f.subnetId !== undefined)) set.push('fixed_ips:subnet_id');
    if (r.fixedIps.some((f) => f.ipAddress !== undefined)) set.push('fixed_ips:ip_address');
  }
  if (r.macAddress !== undefined) set.push('mac_address');
  if (r.deviceOwner !== undefined && !(create && r.deviceOwner === '')) set.push('device_owner');
  if (r.portSecurityEnabled !== undefined) set.push('port_security_enabled');
  if (r.allowedAddressPairs !== undefined && !(create && r.allowedAddressPairs.length === 0)) {
    set.push('allowed_address_pairs');
    if (r.allowedAddressPairs.some((p) => p.ipAddress !== undefined)) set.push('allowed_address_pairs:ip_address');
    if (r.allowedAddressPairs.some((p) => p.macAddress !== undefined)) set.push('allowed_address_pairs:mac_address');
  }
  if (r.bindingHostId !== undefined && !(create && r.bindingHostId === '')) set.push('binding:host_id');
  if (r.bindingProfile !== undefined && !(create && Object.keys(r.bindingProfile).length === 0)) set.push('binding:profile');
  return refusedAttribute(action, meta, target, set);
}
