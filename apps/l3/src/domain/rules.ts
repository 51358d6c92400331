import { authorize, enforce, neutronRules, type CommandMetadata, type PolicyAction, type PolicyTarget } from '@ncp/contracts';
import { formatCidr, parseCidr, parseIp, type Cidr } from '@ncp/netaddr';

/** Error constructors of the L3 deciders: codes are `L3.<NeutronExceptionName>`. */
export const { badRequest, invalidInput, notFound, conflict, checkRevision } = neutronRules('L3');

/**
 * Neutron's order for a change: a router or floating IP the caller may not see is not found
 * (`missing`), one it sees but may not change is a 403 naming the rule.
 */
export function mayChange(meta: CommandMetadata, get: PolicyAction, action: PolicyAction, target: PolicyTarget, missing: () => Error): void {
  if (!authorize(get, meta, target)) throw missing();
  enforce('L3', action, meta, target);
}

/** Neutron's answer when no router connects a fixed address's subnet to a floating IP's network. */
export const unreachable = (externalNetworkId: string, subnetId: string, portId: string) =>
  notFound(
    'ExternalGatewayForFloatingIPNotFound',
    `External network ${externalNetworkId} is not reachable from subnet ${subnetId}.  Therefore, cannot associate Port ${portId} with a Floating IP.`,
  );

export function cidrInput(attribute: string, text: string): Cidr {
  try {
    return parseCidr(text);
  } catch {
    throw badRequest(`Invalid input for ${attribute}. Reason: '${text}' is not a valid IP subnet.`);
  }
}

export function ipText(attribute: string, text: string): string {
  try {
    const ip = parseIp(text);
    return ip.version === 4 ? text : formatCidr({ version: 6, network: ip.value, prefixLength: 128 }).replace(/\/128$/, '');
  } catch {
    throw badRequest(`Invalid input for ${attribute}. Reason: '${text}' is not a valid IP address.`);
  }
}
