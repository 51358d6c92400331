import {
  DESIRED_KINDS,
  desiredKey,
  groupBy,
  isFilteredPort,
  type SgGroupIntent,
  type SgMembersIntent,
  type SgPortIntent,
  type SgRuleIntent,
} from '@ncp/contracts';
import { protocolNumber } from './protocols';

/** A port as the filtering sees it (the service's mirror of IPAM's ports). */
export interface PortFacts {
  id: string;
  networkId: string;
  macAddress: string;
  deviceOwner: string;
  bindingHostId: string;
  fixedIps: readonly { ipAddress: string }[];
  portSecurityEnabled: boolean;
  securityGroups: readonly string[];
  allowedAddressPairs: readonly { ipAddress: string; macAddress: string }[];
}

/** A rule as the projection keeps it (Neutron's canonical values). */
export interface RuleFacts {
  securityGroupId: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
}

export interface GroupFacts {
  id: string;
  stateful: boolean;
}

/** Ports a host filters: bound there, with port security, and not trusted. */
const isFiltered = (p: PortFacts): boolean => p.bindingHostId !== '' && isFilteredPort(p);

/** `0.0.0.0/0` and `::/0` match what no prefix matches: the data plane gets no prefix. */
const prefixOf = (prefix: string | null) => (prefix === null || prefix.endsWith('/0') ? null : prefix);

export function ruleIntent(r: RuleFacts): SgRuleIntent {
  return {
    direction: r.direction as SgRuleIntent['direction'],
    ethertype: r.ethertype as SgRuleIntent['ethertype'],
    protocol: r.protocol === null ? null : (protocolNumber(r.protocol) ?? null),
    portRangeMin: r.portRangeMin,
    portRangeMax: r.portRangeMax,
    remoteIpPrefix: prefixOf(r.remoteIpPrefix),
    remoteGroupId: r.remoteGroupId,
  };
}

/** A group's members' addresses, as rules naming it match them: fixed IPs and address pairs. */
const addressesOf = (p: PortFacts) => [...p.fixedIps.map((f) => f.ipAddress), ...p.allowedAddressPairs.map((a) => a.ipAddress)];

/**
 * Each host's share of the filtering, as desired-state entries (`<row>.<host>.<kind>.<id>`):
 * the filtered ports bound to it, the groups those ports are in, and the members of every group
 * those groups' rules name as remote group (members anywhere in the cloud). A host without an
 * agent gets nothing (its ports are filtered once its agent registers).
 */
export function sgHostEntries(
  ports: readonly PortFacts[],
  groups: readonly GroupFacts[],
  rules: readonly RuleFacts[],
  rowOfHost: ReadonlyMap<string, string>,
): Map<string, string> {
  const rulesOf = groupBy(rules, (r) => r.securityGroupId);
  const groupById = new Map(groups.map((g) => [g.id, g]));
  const members = new Map<string, Set<string>>();
  for (const p of ports) for (const g of p.securityGroups) for (const a of addressesOf(p)) members.set(g, (members.get(g) ?? new Set()).add(a));

  const byHost = groupBy(ports.filter(isFiltered), (p) => p.bindingHostId);

  const entries = new Map<string, string>();
  for (const [host, hostPorts] of byHost) {
    const row = rowOfHost.get(host);
    if (row === undefined) continue;
    const put = (kind: (typeof DESIRED_KINDS)[keyof typeof DESIRED_KINDS], id: string, value: SgPortIntent | SgGroupIntent | SgMembersIntent) =>
      entries.set(desiredKey(row, host, kind, id), JSON.stringify(value));
    const used = new Set<string>();
    for (const p of hostPorts) {
      p.securityGroups.forEach((g) => used.add(g));
      put(DESIRED_KINDS.sgPort, p.id, {
        id: p.id,
        networkId: p.networkId,
        mac: p.macAddress,
        fixedIps: p.fixedIps.map((f) => f.ipAddress),
        allowedAddressPairs: p.allowedAddressPairs.map((a) => ({ ipAddress: a.ipAddress, macAddress: a.macAddress })),
        portSecurityEnabled: true,
        securityGroupIds: [...p.securityGroups],
      });
    }
    const remotes = new Set<string>();
    for (const id of used) {
      const group = groupById.get(id);
      // a group deleted meanwhile (or not yet projected) filters as one without rules: nothing passes
      const groupRules = group === undefined ? [] : (rulesOf.get(id) ?? []);
      groupRules.forEach((r) => r.remoteGroupId !== null && remotes.add(r.remoteGroupId));
      put(DESIRED_KINDS.sgGroup, id, { id, stateful: group?.stateful ?? true, rules: groupRules.map(ruleIntent) });
    }
    for (const id of remotes) put(DESIRED_KINDS.sgMembers, id, { groupId: id, addresses: [...(members.get(id) ?? [])].sort() });
  }
  return entries;
}
