import { type SgGroupIntent, type SgHostIntent, type SgPortIntent, type SgRuleIntent } from '@ncp/contracts';
import { eui64Address, formatIp, normalizeMac, parseCidr, parseIp } from '@ncp/netaddr';
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
 *   get past the bridge table), the destination MAC on ingress.
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
const portChain = (portId: string, direction: 'ingress' | 'egress') => `p_${compact(portId)}_${direction === 'ingress' ? 'in' : 'out'}`;
const memberSet = (groupId: string, family: 4 | 6) => `m_${compact(groupId)}_${family}`;
const spoofChain = (portId: string) => `s_${compact(portId)}`;

const LINK_LOCAL = parseCidr('fe80::/64');
const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);
const elements = (values: readonly string[]) => (values.length === 0 ? '' : ` elements = { ${values.join(', ')} };`);

function ruleMatch(rule: SgRuleIntent): string[] {
  const v6 = rule.ethertype === 'IPv6';
  const parts = [`meta nfproto ${v6 ? 'ipv6' : 'ipv4'}`];
  const addr = v6 ? 'ip6' : 'ip';
  const side = rule.direction === 'ingress' ? 'saddr' : 'daddr';
  if (rule.remoteIpPrefix !== null) parts.push(`${addr} ${side} ${rule.remoteIpPrefix}`);
  if (rule.remoteGroupId !== null) parts.push(`${addr} ${side} @${memberSet(rule.remoteGroupId, v6 ? 6 : 4)}`);
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

function renderGroup(group: SgGroupIntent): string[] {
  return (['ingress', 'egress'] as const).map((direction) => {
    const rules = group.rules.filter((r) => r.direction === direction).map((r) => `    ${ruleMatch(r).join(' ')} accept`);
    return [`  chain ${groupChain(group.id, direction)} {`, ...rules, '  }'].join('\n');
  });
}

/**
 * What every filtered port may receive and send whatever its groups say, as Neutron's firewall
 * drivers allow it: DHCP and DHCPv6 as a client, router advertisements, neighbour discovery and
 * MLD (without them no address is configured or resolved). Who may send the server side of
 * these is the bridge table's business (only DHCP and router ports).
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

function renderPortChains(port: SgPortIntent, stateful: boolean): string[] {
  return (['ingress', 'egress'] as const).map((direction) => {
    const body = [
      ...(stateful ? ['ct state established,related accept', 'ct state invalid drop'] : []),
      ...BASE_RULES[direction],
      ...port.securityGroupIds.map((g) => `jump ${groupChain(g, direction)}`),
      'drop',
    ];
    return [`  chain ${portChain(port.id, direction)} {`, ...body.map((l) => `    ${l}`), '  }'].join('\n');
  });
}

/** The MACs a port may send from, each with the port's bridge: its own and its address pairs'. */
function portMacs(port: SgPortIntent): string[] {
  return [...new Set([port.mac, ...port.allowedAddressPairs.map((p) => p.macAddress)].map(normalizeMac))];
}

/** The inet table: conntrack zones, member sets, group and port chains, and the dispatch. */
export function renderFilterTable(intent: SgHostIntent, zones: ZoneMap): string {
  const filtered = intent.ports.filter((p) => p.portSecurityEnabled);
  const groups = new Map(intent.groups.map((g) => [g.id, g]));
  const used = [...new Set(filtered.flatMap((p) => p.securityGroupIds))].sort();
  const sets = [...new Set(used.flatMap((g) => groups.get(g)?.rules.flatMap((r) => (r.remoteGroupId === null ? [] : [r.remoteGroupId])) ?? []))].sort();
  const members = new Map(intent.members.map((m) => [m.groupId, m.addresses]));

  const lines = [`table inet ${SG_TABLE} {`];
  const zoneElements = [...zones].sort(([a], [b]) => a.localeCompare(b)).map(([net, zone]) => `"${bridgeName(net)}" : ${zone}`);
  lines.push(`  map zones {\n    typeof iifname : ct zone;${elements(zoneElements)}\n  }`);
  for (const g of sets) {
    for (const family of [4, 6] as const) {
      const addresses = (members.get(g) ?? []).filter((a) => familyOf(a) === family).sort();
      lines.push(`  set ${memberSet(g, family)} {\n    type ipv${family}_addr; flags interval;${elements(addresses)}\n  }`);
    }
  }
  for (const g of used) {
    const group = groups.get(g);
    lines.push(...renderGroup(group ?? { id: g, stateful: true, rules: [] }));
  }
  const dispatch: Record<'ingress' | 'egress', string[]> = { ingress: [], egress: [] };
  const claimed = new Set<string>();
  for (const port of [...filtered].sort((a, b) => a.id.localeCompare(b.id))) {
    // a port whose groups are all stateless is not tracked (Neutron refuses to mix the two)
    const stateful = port.securityGroupIds.some((g) => groups.get(g)?.stateful ?? true);
    lines.push(...renderPortChains(port, stateful));
    for (const mac of portMacs(port)) {
      const key = `"${bridgeName(port.networkId)}" . ${mac}`;
      // two ports claiming one MAC on one network (an address pair shared for VRRP): the first keeps it
      if (claimed.has(key)) continue;
      claimed.add(key);
      for (const d of ['ingress', 'egress'] as const) dispatch[d].push(`${key} : jump ${portChain(port.id, d)}`);
    }
  }
  for (const d of ['egress', 'ingress'] as const) {
    lines.push(`  map ${d}_ports {\n    type ifname . ether_addr : verdict;${elements(dispatch[d])}\n  }`);
  }
  lines.push(
    '  chain zone {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    ct zone set iifname map @zones',
    '  }',
    '  chain egress {',
    '    type filter hook forward priority -10; policy accept;',
    '    iifname . ether saddr vmap @egress_ports',
    '  }',
    '  chain ingress {',
    '    type filter hook forward priority 0; policy accept;',
    '    oifname . ether daddr vmap @ingress_ports',
    '  }',
    '}',
  );
  return lines.join('\n') + '\n';
}

/** What a port may send from: its MACs, its IPv4 and IPv6 sources (the EUI-64 link-local included). */
function spoofRules(port: SgPortIntent): string[] {
  const pairs = port.allowedAddressPairs.map((p) => p.ipAddress);
  const v4 = [...port.fixedIps, ...pairs].filter((a) => familyOf(a) === 4).sort();
  const linkLocal = formatIp(6, eui64Address(LINK_LOCAL, port.mac));
  const v6 = [linkLocal, ...[...port.fixedIps, ...pairs].filter((a) => familyOf(a) === 6).sort()];
  // a pair given as a CIDR may answer for any address in it: then targets are not checked
  const ownNa = v6.some((a) => a.includes('/')) ? [] : v6.map((a) => `0x${parseIp(a).value.toString(16).padStart(32, '0')}`);
  const set = (values: string[]) => `{ ${values.join(', ')} }`;
  return [
    `ether saddr != ${set(portMacs(port))} drop`,
    // ARP: only for its own IPv4 addresses (0.0.0.0 is an ARP probe)
    `ether type arp arp saddr ip != ${set(['0.0.0.0', ...v4])} drop`,
    // DHCP as a client: DISCOVER/REQUEST from 0.0.0.0; never as a server
    'ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept',
    'ether type ip udp sport 67 drop',
    v4.length === 0 ? 'ether type ip drop' : `ether type ip ip saddr != ${set(v4)} drop`,
    // IPv6: no router advertisements, no DHCPv6 server replies; DAD and MLD from ::
    'ether type ip6 icmpv6 type nd-router-advert drop',
    'ether type ip6 udp sport 547 drop',
    'ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } accept',
    `ether type ip6 ip6 saddr != ${set(v6)} drop`,
    // neighbour advertisements only for its own addresses (the target field, at ICMPv6 offset 8;
    // this nft has no `icmpv6 taddr`)
    ...(ownNa.length === 0 ? [] : [`ether type ip6 icmpv6 type nd-neighbor-advert @th,64,128 != ${set(ownNa)} drop`]),
  ];
}

/** The bridge table: per port, what it may send, checked on its tap before any bridging. */
export function renderSpoofTable(intent: SgHostIntent): string {
  const ports = intent.ports.filter((p) => p.portSecurityEnabled).sort((a, b) => a.id.localeCompare(b.id));
  const lines = [`table bridge ${SG_TABLE} {`];
  for (const port of ports) lines.push(`  chain ${spoofChain(port.id)} {`, ...spoofRules(port).map((r) => `    ${r}`), '  }');
  const entries = ports.map((p) => `"${tapName(p.id)}" : jump ${spoofChain(p.id)}`);
  lines.push(
    `  map ports {\n    type ifname : verdict;${elements(entries)}\n  }`,
    '  chain prerouting {',
    '    type filter hook prerouting priority -200; policy accept;',
    '    iifname vmap @ports',
    '  }',
    '}',
  );
  return lines.join('\n') + '\n';
}

/**
 * One transaction that replaces both tables (`nft -f`): either all of it applies or none.
 * Connections already accepted keep their conntrack entries across it.
 */
export function renderSecurityGroups(intent: SgHostIntent, zones: ZoneMap): string {
  const replace = (family: string) => `table ${family} ${SG_TABLE}\ndelete table ${family} ${SG_TABLE}\n`;
  return replace('inet') + renderFilterTable(intent, zones) + replace('bridge') + renderSpoofTable(intent);
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
