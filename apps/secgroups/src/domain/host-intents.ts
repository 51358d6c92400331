import { DESIRED_KINDS, desiredKey, isFilteredPort, type SgGroupIntent, type SgMembersIntent, type SgPortIntent, type SgRuleIntent } from '@ncp/contracts';
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

/** What the filtering is made of: every port of the cloud, the groups and their rules, and where each host's agent is. */
export interface FilteringFacts {
  /** an array or a map: walked twice */
  readonly ports: { values(): Iterable<PortFacts> };
  readonly groups: ReadonlyMap<string, GroupFacts>;
  readonly rulesOf: ReadonlyMap<string, readonly RuleFacts[]>;
  readonly rowOfHost: ReadonlyMap<string, string>;
}

/**
 * The entries' JSON texts one computation can take from the one before: a port's by its facts'
 * object, a group's by its facts' and rules' objects, a group's members by an equal address
 * list. Serialising every port of a host again for each change was most of a pass at 5,000 ports.
 */
export class SgEntryTexts {
  private readonly ports = new WeakMap<PortFacts, string>();
  private groups = new Map<string, GroupText>();
  private memberLists = new Map<string, MembersText>();
  private nextGroups = new Map<string, GroupText>();
  private nextMemberLists = new Map<string, MembersText>();

  port(p: PortFacts): string {
    let text = this.ports.get(p);
    if (text === undefined) {
      const intent: SgPortIntent = {
        id: p.id,
        networkId: p.networkId,
        mac: p.macAddress,
        fixedIps: p.fixedIps.map((f) => f.ipAddress),
        allowedAddressPairs: p.allowedAddressPairs.map((a) => ({ ipAddress: a.ipAddress, macAddress: a.macAddress })),
        portSecurityEnabled: true,
        securityGroupIds: [...p.securityGroups],
      };
      text = JSON.stringify(intent);
      this.ports.set(p, text);
    }
    return text;
  }

  group(id: string, group: GroupFacts | undefined, rules: readonly RuleFacts[]): string {
    let kept = this.nextGroups.get(id) ?? this.groups.get(id);
    if (kept === undefined || kept.group !== group || kept.rules !== rules) {
      const intent: SgGroupIntent = { id, stateful: group?.stateful ?? true, rules: rules.map(ruleIntent) };
      kept = { group, rules, text: JSON.stringify(intent) };
    }
    this.nextGroups.set(id, kept);
    return kept.text;
  }

  /** `addresses` sorted */
  members(groupId: string, addresses: readonly string[]): string {
    let kept = this.nextMemberLists.get(groupId) ?? this.memberLists.get(groupId);
    if (kept === undefined || !sameList(kept.addresses, addresses)) {
      const intent: SgMembersIntent = { groupId, addresses: [...addresses] };
      kept = { addresses, text: JSON.stringify(intent) };
    }
    this.nextMemberLists.set(groupId, kept);
    return kept.text;
  }

  /** The computation is over: what it did not use is forgotten. */
  done(): void {
    this.groups = this.nextGroups;
    this.nextGroups = new Map<string, GroupText>();
    this.memberLists = this.nextMemberLists;
    this.nextMemberLists = new Map<string, MembersText>();
  }
}

interface GroupText {
  readonly group: GroupFacts | undefined;
  readonly rules: readonly RuleFacts[];
  readonly text: string;
}
interface MembersText {
  readonly addresses: readonly string[];
  readonly text: string;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Each host's share of the filtering, as desired-state entries (`<row>.<host>.<kind>.<id>`):
 * the filtered ports bound to it, the groups those ports are in, and the members of every group
 * those groups' rules name as remote group (members anywhere in the cloud). A host without an
 * agent gets nothing (its ports are filtered once its agent registers).
 */
export function filteringEntries(facts: FilteringFacts, texts = new SgEntryTexts()): Map<string, string> {
  const byHost = new Map<string, PortFacts[]>();
  for (const p of facts.ports.values()) {
    if (!isFiltered(p) || !facts.rowOfHost.has(p.bindingHostId)) continue;
    const hostPorts = byHost.get(p.bindingHostId);
    if (hostPorts === undefined) byHost.set(p.bindingHostId, [p]);
    else hostPorts.push(p);
  }

  const entries = new Map<string, string>();
  const remotesOf = new Map<string, Set<string>>();
  for (const [host, hostPorts] of byHost) {
    const row = facts.rowOfHost.get(host) as string;
    const used = new Set<string>();
    for (const p of hostPorts) {
      p.securityGroups.forEach((g) => used.add(g));
      entries.set(desiredKey(row, host, DESIRED_KINDS.sgPort, p.id), texts.port(p));
    }
    const remotes = new Set<string>();
    for (const id of used) {
      const group = facts.groups.get(id);
      // a group deleted meanwhile (or not yet projected) filters as one without rules: nothing passes
      const groupRules = group === undefined ? NO_RULES : (facts.rulesOf.get(id) ?? NO_RULES);
      groupRules.forEach((r) => r.remoteGroupId !== null && remotes.add(r.remoteGroupId));
      entries.set(desiredKey(row, host, DESIRED_KINDS.sgGroup, id), texts.group(id, group, groupRules));
    }
    remotesOf.set(host, remotes);
  }

  const named = new Set([...remotesOf.values()].flatMap((r) => [...r]));
  const members = new Map<string, Set<string>>();
  for (const p of facts.ports.values()) {
    for (const g of p.securityGroups) if (named.has(g)) for (const a of addressesOf(p)) members.set(g, (members.get(g) ?? new Set()).add(a));
  }
  const sortedMembers = new Map([...named].map((g) => [g, [...(members.get(g) ?? [])].sort()]));
  for (const [host, remotes] of remotesOf) {
    const row = facts.rowOfHost.get(host) as string;
    for (const id of remotes) entries.set(desiredKey(row, host, DESIRED_KINDS.sgMembers, id), texts.members(id, sortedMembers.get(id) as string[]));
  }
  texts.done();
  return entries;
}

const NO_RULES: readonly RuleFacts[] = [];
