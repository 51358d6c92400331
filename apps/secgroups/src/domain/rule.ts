import { ValidationError } from '@ncp/contracts';
import { NetaddrError, formatCidr, parseCidr } from '@ncp/netaddr';
import { ICMP, IPV6_ICMP, IPV6_ONLY_PROTOCOLS, PORT_PROTOCOLS, PROTOCOL_NUMBERS, protocolNumber } from './protocols';

export type Direction = 'ingress' | 'egress';
export type Ethertype = 'IPv4' | 'IPv6';

/** A rule as a client asks for it (types already checked at the edge, values not yet). */
export interface RuleRequest {
  direction: string;
  ethertype?: string | null;
  protocol?: string | number | null;
  portRangeMin?: number | null;
  portRangeMax?: number | null;
  remoteIpPrefix?: string | null;
  remoteGroupId?: string | null;
  description?: string;
}

/** A rule as it is stored and shown: Neutron's canonical values. */
export interface RuleSpec {
  direction: Direction;
  ethertype: Ethertype;
  /** a protocol name (lower case) or number as text, as the client gave it; null for any */
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  /** a CIDR with its mask, host bits cleared; null for any */
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
  description: string;
}

const invalid = (type: string, message: string) => new ValidationError(`SG.${type}`, message);

function direction(value: string): Direction {
  if (value === 'ingress' || value === 'egress') return value;
  throw invalid('HTTPBadRequest', `Invalid input for direction. Reason: '${value}' is not in ['ingress', 'egress'].`);
}

function ethertype(value: string | null | undefined): Ethertype {
  if (value === undefined || value === null) return 'IPv4';
  // Neutron takes the ethertype in any case (convert_ethertype_to_case_insensitive)
  const known = (['IPv4', 'IPv6'] as const).find((e) => e.toLowerCase() === value.toLowerCase());
  if (known) return known;
  throw invalid('SecurityGroupRuleInvalidEtherType', `Security group rule for ethertype '${value}' not supported. Allowed values are ['IPv4', 'IPv6'].`);
}

/**
 * The protocol as Neutron keeps it: lower-case name or a number's text; `any` and null are any.
 * Over IPv6 the legacy ICMP names and number (icmp, icmpv6, 1) become ipv6-icmp / 58.
 */
function protocol(value: string | number | null | undefined, family: Ethertype): string | null {
  if (value === undefined || value === null) return null;
  const text = String(value).toLowerCase();
  if (text === 'any' || text === '') return null;
  if (protocolNumber(text) === undefined) {
    throw invalid(
      'SecurityGroupRuleInvalidProtocol',
      `Security group rule protocol ${String(value)} not supported. Only protocol values [None, ${Object.keys(PROTOCOL_NUMBERS).join(', ')}] and integer representations [0 to 255] are supported.`,
    );
  }
  if (family === 'IPv6') {
    if (text === 'icmp' || text === 'icmpv6') return 'ipv6-icmp';
    if (text === String(ICMP)) return String(IPV6_ICMP);
  }
  return text;
}

/**
 * A port value as Neutron's API converts it (convert_validate_port_value), before any check of
 * the range: 0-65535 whatever the protocol, else SecurityGroupInvalidPortValue.
 */
function portValue(value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (value < 0 || value > 65535) throw invalid('SecurityGroupInvalidPortValue', `Invalid value for port ${value}.`);
  return value;
}

function checkPorts(proto: number | null, min: number | null, max: number | null): void {
  if (min === null && max === null) return;
  if (proto === null) throw invalid('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
  if (PORT_PROTOCOLS.has(proto)) {
    if (min === 0 || max === 0) throw invalid('SecurityGroupInvalidPortValue', 'Invalid value for port 0.');
    const inRange = (p: number) => p >= 1 && p <= 65535;
    if (min === null || max === null || min > max || !inRange(min) || !inRange(max)) {
      throw invalid('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
    }
    return;
  }
  if (proto === ICMP || proto === IPV6_ICMP) {
    for (const [value, field, attr] of [
      [min, 'type', 'port_range_min'],
      [max, 'code', 'port_range_max'],
    ] as const) {
      if (value !== null && (value < 0 || value > 255)) {
        throw invalid('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${value}. It must be 0 to 255.`);
      }
    }
    if (min === null && max !== null) {
      throw invalid('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
    }
    return;
  }
  throw invalid(
    'SecurityGroupInvalidProtocolForPort',
    `Invalid protocol ${proto} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP protocols.`,
  );
}

function remoteIpPrefix(value: string | null | undefined, family: Ethertype): string | null {
  if (value === undefined || value === null) return null;
  let text = value;
  // a bare address is a host prefix (Neutron adds the mask)
  if (!text.includes('/')) text = `${text}/${text.includes(':') ? 128 : 32}`;
  let cidr;
  try {
    cidr = parseCidr(text);
  } catch (error) {
    if (error instanceof NetaddrError) throw invalid('HTTPBadRequest', `Invalid input for remote_ip_prefix. Reason: '${value}' is not a valid IP prefix.`);
    throw error;
  }
  if (`IPv${cidr.version}` !== family) throw invalid('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${family} for CIDR ${value}`);
  return formatCidr(cidr);
}

/**
 * Checks a requested rule with Neutron's rules and gives its canonical form.
 * @throws ValidationError with Neutron's error type
 */
export function checkRule(request: RuleRequest): RuleSpec {
  const dir = direction(request.direction);
  const family = ethertype(request.ethertype);
  const proto = protocol(request.protocol, family);
  const number = proto === null ? null : (protocolNumber(proto) ?? null);
  const min = portValue(request.portRangeMin);
  const max = portValue(request.portRangeMax);
  checkPorts(number, min, max);
  if (number !== null && IPV6_ONLY_PROTOCOLS.has(number) && family === 'IPv4') {
    throw invalid('SecurityGroupEthertypeConflictWithProtocol', `Invalid ethertype IPv4 for protocol ${proto}.`);
  }
  const prefix = remoteIpPrefix(request.remoteIpPrefix, family);
  const remoteGroupId = request.remoteGroupId ?? null;
  if (prefix !== null && remoteGroupId !== null) {
    throw invalid('SecurityGroupRemoteGroupAndRemoteIpPrefix', 'Only remote_ip_prefix or remote_group_id may be provided.');
  }
  return {
    direction: dir,
    ethertype: family,
    protocol: proto,
    portRangeMin: min,
    portRangeMax: max,
    remoteIpPrefix: prefix,
    remoteGroupId,
    description: request.description ?? '',
  };
}

/**
 * What makes two rules the same (Neutron's `_rule_to_key`): a protocol by name or by number,
 * and "any address" given as 0.0.0.0/0, ::/0 or nothing, are the same; the description is not
 * compared.
 */
export function ruleKey(rule: RuleSpec): string {
  const any = rule.remoteIpPrefix === null || rule.remoteIpPrefix === '0.0.0.0/0' || rule.remoteIpPrefix === '::/0';
  return [
    rule.direction,
    rule.ethertype,
    rule.protocol === null ? '+' : String(protocolNumber(rule.protocol)),
    rule.portRangeMin ?? '+',
    rule.portRangeMax ?? '+',
    rule.remoteGroupId ?? '+',
    any ? '+' : rule.remoteIpPrefix,
  ].join('|');
}

/**
 * The rules a project's `default` group starts with (as Neutron creates them): every egress,
 * and ingress from the group's own members, for IPv4 and IPv6.
 */
export function defaultGroupRules(groupId: string): RuleSpec[] {
  return (['IPv4', 'IPv6'] as const).flatMap((family) => [openRule('ingress', family, groupId), openRule('egress', family, null)]);
}

/** A rule for any protocol, port and address of a family, or only from a group's members. */
export function openRule(direction: Direction, ethertype: Ethertype, remoteGroupId: string | null): RuleSpec {
  return { direction, ethertype, protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId, description: '' };
}
