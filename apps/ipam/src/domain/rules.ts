import { ForbiddenError, neutronRules, type CommandMetadata } from '@ncp/contracts';
import { NetaddrError, parseCidr, parseIp, type Cidr, type IpAddress } from '@ncp/netaddr';

/**
 * Shared rules and error constructors of the IPAM deciders. Error codes are
 * `IPAM.<NeutronExceptionName>`, so the API edge can answer with Neutron's error type.
 */

export const { badRequest, invalidInput, notFound, conflict, checkRevision } = neutronRules('IPAM');
export { canModify } from '@ncp/contracts';

/** A resource the caller may see: its own, a shared one, or any for an admin. */
export function canSee(meta: CommandMetadata, owner: { projectId: string; shared?: boolean }): boolean {
  return meta.isAdmin || owner.projectId === meta.projectId || owner.shared === true;
}

export function requireAdmin(meta: CommandMetadata, what: string): void {
  if (!meta.isAdmin) {
    throw new ForbiddenError('IPAM.PolicyNotAuthorized', `(rule:${what}) is disallowed by policy`);
  }
}

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
