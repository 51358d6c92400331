import { createHash } from 'node:crypto';
import { type SgGroupIntent, type SgHostIntent, type SgPortIntent, type SgRuleIntent } from '@ncp/contracts';
import { cidrLast, eui64Address, formatCidr, formatIp, normalizeMac, parseCidr, parseIp } from '@ncp/netaddr';
import { KeptFromLastBuild, perFrozenObject, perObject } from '../memo.js';
import { bridgeName, tapName } from '../names.js';

/**
 * The nftables rulesets that filter a host's workload ports (security groups, port security).
 *
 * This kernel has no conntrack in the `bridge` family (CONFIG_NF_CONNTRACK_BRIDGE is off), so
 * the work is split between two tables:
 * - `bridge ncp_sg`: stateless checks on what a port sends, on its own tap: its MAC, its source
 *   addresses, and first-hop security (no RAs, no DHCP server replies, no NAs for addresses
 *   that are not its own).
 * - `inet ncp_sg`: the stateful rules, on bridged IP traffic passed to the inet hooks by
 *   br_netfilter (`bridge-nf-call-ip(6)tables`). There the interface is the bridge, so a port is
 *   found by its bridge and MAC: the source MAC on egress (trustworthy, as spoofed frames never
 *   get past the bridge table), the destination MAC on ingress; verdict maps send it to the
 *   chains of its profile (its set of groups), which jump to each group's chain.
 *
 * Egress and ingress are two base chains on the forward hook: an `accept` ends only its own
 * base chain, so a packet must be let out by its sender's groups and in by its receiver's.
 * Each network (bridge) has its own conntrack zone, so overlapping tenant addresses never
 * share a connection entry.
 */

export const SG_TABLE = 'ncp_sg';

/** The conntrack zone of each network on this host, by network id. */
export type ZoneMap = ReadonlyMap<string, number>;

const compact = (id: string) => id.replace(/-/g, '').toLowerCase();
const groupChain = (groupId: string, direction: 'ingress' | 'egress') => `g_${compact(groupId)}_${direction === 'ingress' ? 'in' : 'out'}`;
const memberSet = (groupId: string, family: 4 | 6) => `m_${compact(groupId)}_${family}`;
/** Its members' prefixes (an address pair's CIDR): an interval set, beside the plain one of host addresses. */
const memberNetSet = (groupId: string, family: 4 | 6) => `${memberSet(groupId, family)}n`;

const LINK_LOCAL = parseCidr('fe80::/64');
const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);

/** A rule's matches: one, or one per member set of its remote group (host addresses, prefixes). */
function ruleMatches(rule: SgRuleIntent): string[][] {
  const remote = rule.remoteGroupId;
  const family = rule.ethertype === 'IPv6' ? 6 : 4;
  return remote === null ? [ruleMatch(rule, null)] : [memberSet(remote, family), memberNetSet(remote, family)].map((set) => ruleMatch(rule, set));
}

function ruleMatch(rule: SgRuleIntent, remoteSet: string | null): string[] {
  const v6 = rule.ethertype === 'IPv6';
  const parts = [`meta nfproto ${v6 ? 'ipv6' : 'ipv4'}`];
  const addr = v6 ? 'ip6' : 'ip';
  const side = rule.direction === 'ingress' ? 'saddr' : 'daddr';
  if (rule.remoteIpPrefix !== null) parts.push(`${addr} ${side} ${rule.remoteIpPrefix}`);
  if (remoteSet !== null) parts.push(`${addr} ${side} @${remoteSet}`);
  const { protocol: p, portRangeMin: min, portRangeMax: max } = rule;
  if (p === 1 || p === 58) {
    const icmp = p === 58 ? 'icmpv6' : 'icmp';
    // an ICMPv6 rule in an IPv4 rule set (or the reverse) matches nothing, as in Neutron
    parts.push(`meta l4proto ${p}`);
    if (min !== null) parts.push(`${icmp} type ${min}`);
    if (max !== null) parts.push(`${icmp} code ${max}`);
  } else if (p !== null) {
    parts.push(`meta l4proto ${p}`);
    if (min !== null && max !== null) parts.push(`th dport ${min === max ? min : `${min}-${max}`}`);
  }
  return parts;
}

/** A group's two chains: its ingress and its egress rules. */
function groupChains(group: SgGroupIntent): [string, string[]][] {
  return (['ingress', 'egress'] as const).map((direction) => [
    groupChain(group.id, direction),
    group.rules.filter((r) => r.direction === direction).flatMap((r) => ruleMatches(r).map((parts) => `${parts.join(' ')} accept`)),
  ]);
}

/**
 * What every filtered port may receive and send whatever its groups say, as Neutron's firewall
 * drivers allow it: DHCP and DHCPv6 as a client, router advertisements, neighbour discovery and
 * MLD (without them no address is configured or resolved). Who may send the server side of
 * these is the bridge table's business (only DHCP and router ports). They live in two chains
 * every port chain jumps to, so that no port chain carries an anonymous set (see SPOOF_RULES).
 */
const BASE_RULES: Record<'ingress' | 'egress', readonly string[]> = {
  ingress: [
    'meta nfproto ipv4 udp sport 67 udp dport 68 accept',
    'meta nfproto ipv6 udp sport 547 udp dport 546 accept',
    'icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept',
  ],
  egress: [
    'meta nfproto ipv4 udp sport 68 udp dport 67 accept',
    'meta nfproto ipv6 udp sport 546 udp dport 547 accept',
    'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report } accept',
  ],
};

const EVERY_PORT = { ingress: 'every_port_in', egress: 'every_port_out' } as const;

/**
 * The chains of a set of groups, a profile: conntrack (if any of them is stateful), what every
 * port may do, a jump to each group, then drop. Every port with exactly these groups shares
 * them, so a port is only elements (its dispatch, its sources). nft reads the list of all the
 * table's chains before each transaction: with a pair of chains per port, each change cost
 * more the more ports the host had (1,000 ports: twice the time of 100).
 */
function profileChains(groupIds: readonly string[], stateful: boolean): [string, string[]][] {
  return (['ingress', 'egress'] as const).map((direction) => [
    profileChain(groupIds, direction),
    [
      ...(stateful ? ['ct state established,related accept', 'ct state invalid drop'] : []),
      `jump ${EVERY_PORT[direction]}`,
      ...groupIds.map((g) => `jump ${groupChain(g, direction)}`),
      'drop',
    ],
  ]);
}

/** A port's groups as a profile: each once, in order. */
const profileOf = (port: SgPortIntent) => [...new Set(port.securityGroupIds)].sort();

/** `pr_<hash of the groups>_in|out`: the name says which groups, whatever their number. */
export function profileChain(groupIds: readonly string[], direction: 'ingress' | 'egress'): string {
  const hash = createHash('sha256').update(groupIds.join(' ')).digest('hex').slice(0, 24);
  return `pr_${hash}_${direction === 'ingress' ? 'in' : 'out'}`;
}

/** The MACs a port may send from, each with the port's bridge: its own and its address pairs'. */
function portMacs(port: SgPortIntent): string[] {
  return [...new Set([port.mac, ...port.allowedAddressPairs.map((p) => p.macAddress)].map(normalizeMac))];
}

/** An address or a prefix of an interval set, parsed once: its range and its text as nft takes it. */
export interface SetAddress {
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
  readonly prefixLength: number;
  /** the address alone for a host prefix, else the prefix, normalised */
  readonly text: string;
}

export function setAddress(address: string): SetAddress {
  const family = familyOf(address);
  const host = family === 4 ? 32 : 128;
  const cidr = parseCidr(address.includes('/') ? address : `${address}/${host}`);
  return {
    family,
    first: cidr.network,
    last: cidrLast(cidr),
    prefixLength: cidr.prefixLength,
    text: cidr.prefixLength === host ? formatIp(family, cidr.network) : formatCidr(cidr),
  };
}

/**
 * Addresses of one family as elements of an interval set: each once, and none inside another
 * (a CIDR address pair that covers a fixed IP), as nft refuses overlapping intervals.
 * Prefixes are either nested or disjoint, so one pass in address order is enough. `parse`:
 * setAddress, or a memo of it.
 */
export function disjointAddresses(addresses: readonly string[], family: 4 | 6, parse: (address: string) => SetAddress = setAddress): string[] {
  const parsed = addresses
    .filter((a) => familyOf(a) === family)
    .map(parse)
    .sort((a, b) => (a.first === b.first ? a.prefixLength - b.prefixLength : a.first < b.first ? -1 : 1));
  const kept: string[] = [];
  let end = -1n;
  for (const a of parsed) {
    if (a.first <= end) continue;
    end = a.last;
    kept.push(a.text);
  }
  return kept.sort();
}

/**
 * Addresses of one family for the two sets that hold them: host addresses (each once,
 * normalised) for a plain set, prefixes (none inside another) for an interval set. Before each
 * transaction that adds an element anywhere in a table, nft reads every element of the table's
 * interval sets, and none of its plain sets' (20,000 elements in an interval set: 126 ms a
 * transaction, against 16): nearly every address is a host's, and goes in a plain set.
 */
export function hostsAndNets(
  addresses: readonly string[],
  family: 4 | 6,
  parse: (address: string) => SetAddress = setAddress,
): { hosts: string[]; nets: string[] } {
  const hosts = new Set<string>();
  const nets: string[] = [];
  for (const text of addresses) {
    if (familyOf(text) !== family) continue;
    const a = parse(text);
    if (a.prefixLength === (family === 4 ? 32 : 128)) hosts.add(a.text);
    else nets.push(a.text);
  }
  return { hosts: [...hosts].sort(), nets: disjointAddresses(nets, family, parse) };
}

export type SgFamily = 'inet' | 'bridge';

export interface SgSetDeclaration {
  readonly family: SgFamily;
  readonly name: string;
  readonly kind: 'set' | 'map';
  /** what opens its body: `type ...;` and its flags */
  readonly declaration: string;
}

export interface SgChain {
  readonly family: SgFamily;
  readonly name: string;
  readonly rules: readonly string[];
}

export interface SgElement {
  readonly family: SgFamily;
  readonly set: string;
  readonly key: string;
  /** `key` in a set, `key : value` in a map */
  readonly text: string;
}

/**
 * One unit of a host's filtering, as what it puts in the two tables: the sets it declares, its
 * chains, its elements (in its own sets or in shared ones). A port is a piece (its dispatch
 * entries, its sources), a group another (its chains), a profile (the chains of the ports with
 * the same groups) another, a remote group's members another (their sets). The full transaction and the incremental one (update.ts) are both
 * written from pieces, so each is rendered in one place only.
 */
export interface SgPiece {
  readonly sets: readonly SgSetDeclaration[];
  readonly chains: readonly SgChain[];
  readonly elements: readonly SgElement[];
}

/**
 * A host's filtering: its pieces by id (`inet`, `bridge`, `zones`, `members <id>` with its
 * elements in `members <id> <n>` and `members <id> nets`, `group <id>`, `profile <ids>`, `port
 * <id>`), in the order they are rendered. An unchanged piece is the same object
 * from one build to the next (SgRenderCache), so a diff passes over it at once.
 */
export type SgTables = ReadonlyMap<string, SgPiece>;

const NO_PIECE: SgPiece = { sets: [], chains: [], elements: [] };
const element = (family: SgFamily, set: string, key: string, value?: string): SgElement => ({
  family,
  set,
  key,
  text: value === undefined ? key : `${key} : ${value}`,
});

/** What the inet table always has: the zone, egress and ingress base chains and their maps, and what every port may do. */
const INET_PIECE: SgPiece = {
  sets: [
    { family: 'inet', name: 'zones', kind: 'map', declaration: 'typeof iifname : ct zone;' },
    { family: 'inet', name: 'egress_ports', kind: 'map', declaration: 'type ifname . ether_addr : verdict;' },
    { family: 'inet', name: 'ingress_ports', kind: 'map', declaration: 'type ifname . ether_addr : verdict;' },
  ],
  chains: [
    { family: 'inet', name: EVERY_PORT.ingress, rules: BASE_RULES.ingress },
    { family: 'inet', name: EVERY_PORT.egress, rules: BASE_RULES.egress },
    { family: 'inet', name: 'zone', rules: ['type filter hook prerouting priority raw; policy accept;', 'ct zone set iifname map @zones'] },
    { family: 'inet', name: 'egress', rules: ['type filter hook forward priority -10; policy accept;', 'iifname . ether saddr vmap @egress_ports'] },
    { family: 'inet', name: 'ingress', rules: ['type filter hook forward priority 0; policy accept;', 'oifname . ether daddr vmap @ingress_ports'] },
  ],
  elements: [],
};

/**
 * What the bridge table always has: one chain that checks what any filtered port sends
 * against sets keyed by the port's tap, so that a port is only elements (its MACs, its
 * sources) and adding or changing one touches no rule. (A rule per port with an anonymous set
 * each costs the kernel a scan of the transaction per set: 1,000 ports took seconds to load.)
 */
const BRIDGE_PIECE: SgPiece = {
  sets: [
    { family: 'bridge', name: 'ports', kind: 'set', declaration: 'type ifname;' },
    { family: 'bridge', name: 'macs', kind: 'set', declaration: 'type ifname . ether_addr;' },
    // each port's host addresses in a plain set, its address pairs' prefixes in an interval one (see hostsAndNets)
    { family: 'bridge', name: 'arp4', kind: 'set', declaration: 'type ifname . ipv4_addr;' },
    { family: 'bridge', name: 'arp4net', kind: 'set', declaration: 'type ifname . ipv4_addr; flags interval;' },
    { family: 'bridge', name: 'src4', kind: 'set', declaration: 'type ifname . ipv4_addr;' },
    { family: 'bridge', name: 'src4net', kind: 'set', declaration: 'type ifname . ipv4_addr; flags interval;' },
    { family: 'bridge', name: 'src6', kind: 'set', declaration: 'type ifname . ipv6_addr;' },
    { family: 'bridge', name: 'src6net', kind: 'set', declaration: 'type ifname . ipv6_addr; flags interval;' },
    { family: 'bridge', name: 'na_any', kind: 'set', declaration: 'type ifname;' },
    { family: 'bridge', name: 'na6', kind: 'set', declaration: 'typeof iifname . @th,64,128;' },
  ],
  chains: [
    {
      family: 'bridge',
      name: 'port',
      rules: [
        'iifname . ether saddr != @macs drop',
        // ARP: only for its own IPv4 addresses (0.0.0.0 is an ARP probe)
        'ether type arp iifname . arp saddr ip != @arp4 iifname . arp saddr ip != @arp4net drop',
        // DHCP as a client: DISCOVER/REQUEST from 0.0.0.0; never as a server
        'ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept',
        'ether type ip udp sport 67 drop',
        'ether type ip iifname . ip saddr != @src4 iifname . ip saddr != @src4net drop',
        // IPv6: no router advertisements, no DHCPv6 server replies; DAD and MLD from ::
        'ether type ip6 icmpv6 type nd-router-advert drop',
        'ether type ip6 udp sport 547 drop',
        'ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } accept',
        'ether type ip6 iifname . ip6 saddr != @src6 iifname . ip6 saddr != @src6net drop',
        // neighbour advertisements only for its own addresses: the target field, at ICMPv6
        // offset 8 (this nft has no `icmpv6 taddr`), unless an address pair is a CIDR (then
        // any address in it)
        'ether type ip6 icmpv6 type nd-neighbor-advert iifname != @na_any iifname . @th,64,128 != @na6 drop',
      ],
    },
    { family: 'bridge', name: 'prerouting', rules: ['type filter hook prerouting priority -200; policy accept;', 'iifname @ports jump port'] },
  ],
  elements: [],
};

const DISPATCH_MAPS = { ingress: 'ingress_ports', egress: 'egress_ports' } as const;

/** A filtered port: its dispatch by bridge and MAC to its profile's chains, and what it may send from (its EUI-64 link-local included). */
function portPiece(port: SgPortIntent): SgPiece {
  const tap = `"${tapName(port.id)}"`;
  const macs = portMacs(port);
  const addresses = [...port.fixedIps, ...port.allowedAddressPairs.map((p) => p.ipAddress)];
  const v4 = hostsAndNets(addresses, 4);
  const v6 = hostsAndNets([formatIp(6, eui64Address(LINK_LOCAL, port.mac)), ...addresses], 6);
  const on = (set: string, values: readonly string[]) => values.map((v) => element('bridge', set, `${tap} . ${v}`));
  const anyNa = v6.nets.length > 0;
  return {
    sets: [],
    chains: [],
    elements: [
      ...macs.flatMap((mac) =>
        (['ingress', 'egress'] as const).map((d) =>
          element('inet', DISPATCH_MAPS[d], `"${bridgeName(port.networkId)}" . ${mac}`, `jump ${profileChain(profileOf(port), d)}`),
        ),
      ),
      element('bridge', 'ports', tap),
      ...on('macs', macs),
      ...on('arp4', hostsAndNets(['0.0.0.0', ...v4.hosts], 4).hosts),
      ...on('arp4net', v4.nets),
      ...on('src4', v4.hosts),
      ...on('src4net', v4.nets),
      ...on('src6', v6.hosts),
      ...on('src6net', v6.nets),
      ...(anyNa
        ? [element('bridge', 'na_any', tap)]
        : on(
            'na6',
            v6.hosts.map((a) => `0x${parseIp(a).value.toString(16).padStart(32, '0')}`),
          )),
    ],
  };
}

/** A remote group's members' sets, two per family: host addresses, and prefixes (see hostsAndNets). */
function memberSets(groupId: string): SgPiece {
  return {
    sets: ([4, 6] as const).flatMap((f): SgSetDeclaration[] => [
      { family: 'inet', name: memberSet(groupId, f), kind: 'set', declaration: `type ipv${f}_addr;` },
      { family: 'inet', name: memberNetSet(groupId, f), kind: 'set', declaration: `type ipv${f}_addr; flags interval;` },
    ]),
    chains: [],
    elements: [],
  };
}

/** Elements of a remote group's member sets (`setOf`: of host addresses or of prefixes), for normalised addresses of both families. */
function memberElements(groupId: string, texts: readonly string[], setOf: (groupId: string, family: 4 | 6) => string): SgPiece {
  return { sets: [], chains: [], elements: texts.map((text) => element('inet', setOf(groupId, familyOf(text)), text)) };
}

/**
 * A group of thousands of members has its addresses' elements in this many pieces, by a hash of
 * the address: a member joining or leaving then renders and diffs one piece, not the whole group.
 */
const MEMBER_PIECES = 64;

/** FNV-1a of a text, a piece number below MEMBER_PIECES. */
function memberPiece(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % MEMBER_PIECES;
}

/**
 * A remote group's members: its host addresses in MEMBER_PIECES lists by their normalised text
 * (so one address is always in one list, whatever its spelling), each sorted and without
 * duplicates; and its prefixes (address pairs' CIDRs), none inside another (nft refuses
 * overlapping intervals), which only the whole list of them can say.
 */
function splitMembers(addresses: readonly string[], parse: (address: string) => SetAddress): { hosts: string[][]; nets: string[] } {
  const lists: Set<string>[] = Array.from({ length: MEMBER_PIECES }, () => new Set());
  const nets: string[] = [];
  for (const text of addresses) {
    const a = parse(text);
    if (a.prefixLength === (a.family === 4 ? 32 : 128)) lists[memberPiece(a.text)]?.add(a.text);
    else nets.push(a.text);
  }
  return { hosts: lists.map((list) => [...list].sort()), nets: [...disjointAddresses(nets, 4, parse), ...disjointAddresses(nets, 6, parse)] };
}

const isDispatch = (e: SgElement) => e.family === 'inet' && (e.set === DISPATCH_MAPS.ingress || e.set === DISPATCH_MAPS.egress);

/** A port's piece, with its id among the pieces and its dispatch entries. */
interface RenderedPort {
  readonly id: string;
  readonly piece: SgPiece;
  readonly dispatch: readonly SgElement[];
}

function renderedPort(piece: SgPiece, port: SgPortIntent): RenderedPort {
  return { id: `port ${port.id}`, piece, dispatch: piece.elements.filter(isDispatch) };
}

/**
 * Pieces kept from one build to the next, by what they are made from (a frozen port by the
 * object, any other piece by its text): parsing and formatting addresses is most of a build's
 * cost, and a host's ports rarely change. Holds what the last build used, nothing older.
 */
export class SgRenderCache {
  private readonly pieces = new KeptFromLastBuild<string, SgPiece>();
  /**
   * Remote groups' member addresses, parsed: a port joining a group changes its members' piece,
   * and parsing every member again made a bind's pass grow with the ports on the host.
   */
  private readonly addresses = new KeptFromLastBuild<string, SetAddress>();
  readonly address = (text: string): SetAddress => this.addresses.get(text, setAddress);
  /** A port's profile (its groups, each once, sorted, space-separated), made once per frozen object. */
  readonly profile = perFrozenObject((port: SgPortIntent) => profileOf(port).join(' '));
  /** An entry's JSON, made once per frozen object. */
  readonly json = perFrozenObject((entry: object) => JSON.stringify(entry));
  /** A frozen port's piece, made once per object: a host's thousands of ports were each looked up by their JSON on every pass. */
  private readonly frozenPort = perObject((port: SgPortIntent) => renderedPort(portPiece(port), port));

  /** A port's piece: by the object for a frozen one (which cannot change), else by its JSON. */
  port(port: SgPortIntent): RenderedPort {
    return Object.isFrozen(port)
      ? this.frozenPort(port)
      : renderedPort(
          this.piece(this.json(port), () => portPiece(port)),
          port,
        );
  }

  /** Starts a build: what the previous build did not use is forgotten. */
  begin(): void {
    this.pieces.begin();
    this.addresses.begin();
  }

  piece(key: string, make: () => SgPiece): SgPiece {
    return this.pieces.get(key, make);
  }
}

/**
 * A host's filtering for its intent and its networks' conntrack zones. `cache` carries pieces
 * over from the previous build (a SecurityGroupsApplier keeps one).
 */
export function securityGroupTables(intent: SgHostIntent, zones: ZoneMap, cache: SgRenderCache = new SgRenderCache()): SgTables {
  cache.begin();
  const filtered = intent.ports.filter((p) => p.portSecurityEnabled).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const groups = new Map(intent.groups.map((g) => [g.id, g]));
  // the groups in use, from the profiles (a host has few): each port's list walked on every pass was a good part of it
  const profiles = new Set(filtered.map(cache.profile));
  const used = [...new Set([...profiles].flatMap((profile) => (profile === '' ? [] : profile.split(' '))))].sort();
  const remotes = [...new Set(used.flatMap((g) => groups.get(g)?.rules.flatMap((r) => (r.remoteGroupId === null ? [] : [r.remoteGroupId])) ?? []))].sort();
  const members = new Map(intent.members.map((m) => [m.groupId, m]));

  const pieces = new Map<string, SgPiece>([
    ['inet', INET_PIECE],
    ['bridge', BRIDGE_PIECE],
  ]);
  const zoneEntries = [...zones].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  pieces.set(
    'zones',
    cache.piece(`zones ${zoneEntries.join(' ')}`, () => ({
      ...NO_PIECE,
      elements: zoneEntries.map(([net, zone]) => element('inet', 'zones', `"${bridgeName(net)}"`, String(zone))),
    })),
  );
  for (const g of remotes) {
    const addresses = members.get(g)?.addresses ?? [];
    pieces.set(
      `members ${g}`,
      cache.piece(`members ${g}`, () => memberSets(g)),
    );
    const { hosts, nets } = splitMembers(addresses, cache.address);
    hosts.forEach((list, n) => {
      if (list.length > 0)
        pieces.set(
          `members ${g} ${n}`,
          cache.piece(`members ${g} ${n} ${list.join(' ')}`, () => memberElements(g, list, memberSet)),
        );
    });
    if (nets.length > 0)
      pieces.set(
        `members ${g} nets`,
        cache.piece(`members ${g} nets ${nets.join(' ')}`, () => memberElements(g, nets, memberNetSet)),
      );
  }
  for (const g of used) {
    const group = groups.get(g) ?? { id: g, stateful: true, rules: [] };
    const chains = () => groupChains(group).map(([name, rules]): SgChain => ({ family: 'inet', name, rules }));
    pieces.set(
      `group ${g}`,
      cache.piece(cache.json(group), () => ({ ...NO_PIECE, chains: chains() })),
    );
  }
  for (const profile of profiles) {
    const ids = profile === '' ? [] : profile.split(' ');
    // a port whose groups are all stateless is not tracked (Neutron refuses to mix the two)
    const stateful = ids.some((g) => groups.get(g)?.stateful ?? true);
    const chains = () => profileChains(ids, stateful).map(([name, rules]): SgChain => ({ family: 'inet', name, rules }));
    pieces.set(
      `profile ${profile}`,
      cache.piece(`profile ${stateful} ${profile}`, () => ({ ...NO_PIECE, chains: chains() })),
    );
  }
  const claimed = new Set<string>();
  for (const port of filtered) {
    const rendered = cache.port(port);
    let piece = rendered.piece;
    // two ports claiming one MAC on one network (an address pair shared for VRRP): the first keeps it
    if (rendered.dispatch.some((e) => claimed.has(e.key))) piece = { ...piece, elements: piece.elements.filter((e) => !isDispatch(e) || !claimed.has(e.key)) };
    for (const e of rendered.dispatch) claimed.add(e.key);
    pieces.set(rendered.id, piece);
  }
  return pieces;
}

/** A table block: its sets with their elements (`elements` is each set's, by name), then its chains. */
export function tableText(
  family: SgFamily,
  sets: readonly SgSetDeclaration[],
  elements: ReadonlyMap<string, readonly string[]>,
  chains: readonly SgChain[],
): string {
  const lines = [`table ${family} ${SG_TABLE} {`];
  for (const s of sets) {
    const texts = elements.get(s.name) ?? [];
    lines.push(`  ${s.kind} ${s.name} {`, `    ${s.declaration}${texts.length === 0 ? '' : ` elements = { ${texts.join(', ')} };`}`, '  }');
  }
  for (const c of chains) lines.push(`  chain ${c.name} {`, ...c.rules.map((r) => `    ${r}`), '  }');
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** One table whole, from all the pieces. */
function wholeTable(tables: SgTables, family: SgFamily): string {
  const sets: SgSetDeclaration[] = [];
  const chains: SgChain[] = [];
  const elements = new Map<string, string[]>();
  for (const piece of tables.values()) {
    sets.push(...piece.sets.filter((s) => s.family === family));
    chains.push(...piece.chains.filter((c) => c.family === family));
    for (const e of piece.elements) {
      if (e.family !== family) continue;
      const list = elements.get(e.set);
      if (list === undefined) elements.set(e.set, [e.text]);
      else list.push(e.text);
    }
  }
  return tableText(family, sets, elements, chains);
}

/** The inet table, whole: conntrack zones, member sets, group and port chains, and the dispatch. */
export function renderFilterTable(intent: SgHostIntent, zones: ZoneMap): string {
  return wholeTable(securityGroupTables(intent, zones), 'inet');
}

/** The bridge table, whole: what each filtered port may send, checked on its tap before any bridging. */
export function renderSpoofTable(intent: SgHostIntent): string {
  return wholeTable(securityGroupTables(intent, new Map()), 'bridge');
}

/**
 * One transaction that replaces both tables (`nft -f`): either all of it applies or none.
 * Connections already accepted keep their conntrack entries across it. `table` before `delete
 * table` makes the delete succeed when the table does not exist yet.
 */
export function renderFullReplace(tables: SgTables): string {
  return (['inet', 'bridge'] as const)
    .map((family) => `table ${family} ${SG_TABLE}\ndelete table ${family} ${SG_TABLE}\n${wholeTable(tables, family)}`)
    .join('');
}

/** renderFullReplace of an intent. */
export function renderSecurityGroups(intent: SgHostIntent, zones: ZoneMap): string {
  return renderFullReplace(securityGroupTables(intent, zones));
}

/**
 * Conntrack zones for the networks of this host: a network keeps the zone it has in the kernel
 * (so its connections survive a change), a new one takes the smallest free zone from 1.
 */
export function assignZones(networkIds: readonly string[], current: ZoneMap): Map<string, number> {
  const wanted = [...new Set(networkIds)].sort();
  const zones = new Map<string, number>();
  for (const n of wanted) {
    const z = current.get(n);
    if (z !== undefined) zones.set(n, z);
  }
  const taken = new Set(zones.values());
  let next = 1;
  for (const n of wanted) {
    if (zones.has(n)) continue;
    while (taken.has(next)) next++;
    zones.set(n, next);
    taken.add(next);
  }
  return zones;
}
