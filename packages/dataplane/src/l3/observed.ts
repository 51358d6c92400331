import { parseToolJson } from '../json-output.js';
import { formatCidr, isValidIp, normalizeIp, parseCidr } from '@ncp/netaddr';
import { z } from 'zod';
import { DataplaneError } from '../errors.js';

/** One address of a link, from `ip -j addr show`. */
export interface ObservedAddress {
  readonly family: 4 | 6;
  /** canonical `address/prefixlen` (host bits kept: `172.16.100.1/24`), the form we add and compare */
  readonly cidr: string;
  /** `global`, `link` (fe80::/64 the kernel adds), `host` (loopback)... */
  readonly scope: string;
  /** IPv6 duplicate address detection failed: the address is unusable until re-added */
  readonly dadFailed: boolean;
  /**
   * IPv6 preferred lifetime 0: still valid (it answers and is answered), but never chosen as the
   * source of new traffic (RFC 6724 rule 3)
   */
  readonly deprecated: boolean;
}

/** A link inside a router namespace with its addresses. */
export interface ObservedRouterLink {
  readonly name: string;
  /** administratively up (the UP flag) */
  readonly up: boolean;
  readonly addresses: readonly ObservedAddress[];
}

/** A route of table main, from `ip -N -j route show table main` (IPv4 and IPv6). */
export interface ObservedRoute {
  readonly family: 4 | 6;
  /** canonical CIDR; `default` becomes 0.0.0.0/0 or ::/0 and a bare address /32 or /128 */
  readonly destination: string;
  /** canonical gateway addresses, sorted: one for a plain route, several for ECMP (`nexthops`) */
  readonly nexthops: readonly string[];
  /** numeric (ip -N), e.g. `2` for kernel routes and `190` for ours */
  readonly protocol: string;
  /** null when ip prints none (IPv4 metric 0) */
  readonly metric: number | null;
  /** `unicast` unless ip says otherwise (blackhole, unreachable...) */
  readonly type: string;
}

/** What observe reads of our nftables table (`table inet ncp_router`). */
export interface ObservedRuleset {
  /** the table comment, where we keep the hash of the rules we rendered */
  readonly comment: string | null;
  /** the number of rules in each chain, to notice rules deleted by hand behind the comment */
  readonly rules: Readonly<Record<string, number>>;
  /** floating -> fixed address of each `ip daddr F dnat ip to X` rule of the prerouting chain */
  readonly dnat: Readonly<Record<string, string>>;
}

/** One router namespace as the planner sees it. */
export interface ObservedRouterNs {
  readonly links: readonly ObservedRouterLink[];
  readonly routes: readonly ObservedRoute[];
  /** the sysctls of {@link ROUTER_SYSCTLS}, by key */
  readonly sysctl: Readonly<Record<string, string>>;
  /** null when the table does not exist */
  readonly ruleset: ObservedRuleset | null;
}

/** What the L3 planner needs to know about the kernel. Plain data so tests can build it by hand. */
export interface ObservedL3 {
  /** `ip netns list`: for creating missing router namespaces and sweeping unwanted ones */
  readonly netns: readonly string[];
  /** each router namespace that an intent wants and that exists */
  readonly routers: Readonly<Record<string, ObservedRouterNs>>;
  /** namespaces that could not be read (e.g. deleted meanwhile), with why: their routers fail alone */
  readonly errors?: Readonly<Record<string, string>>;
  /**
   * Only with an owner (see `L3Options.owner`): the `lo` alias, our owner mark, of each router
   * namespace observe looked at, the wanted ones and the sweep candidates.
   */
  readonly marks?: Readonly<Record<string, string | null>>;
}

export const EMPTY_OBSERVED_L3: ObservedL3 = { netns: [], routers: {} };

/**
 * The namespace-wide settings of a router, read and written with `sysctl` in the namespace.
 * Forwarding is what makes it a router; `promote_secondaries` keeps the other addresses of a
 * subnet when its primary address is removed (else changing a gateway address or removing one
 * of two addresses in a subnet deletes both); `keep_addr_on_down` keeps IPv6 addresses on an
 * interface set down for an admin-down router (else the kernel flushes them); `arp_ignore` 1
 * answers ARP on an interface only for that interface's own addresses: not for 169.254.169.254
 * on lo (workloads reach it through their gateway; on a segment only an isolated network's
 * DHCP port answers for it), and not for the addresses of another qr- on the same segment (a
 * dual-stack network has two).
 */
export const ROUTER_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_forward': '1',
  'net.ipv6.conf.all.forwarding': '1',
  'net.ipv4.conf.all.promote_secondaries': '1',
  'net.ipv6.conf.all.keep_addr_on_down': '1',
  'net.ipv4.conf.all.arp_ignore': '1',
};

export const NFT_TABLE_FAMILY = 'inet';
export const NFT_TABLE_NAME = 'ncp_router';

const IpAddrJson = z.array(
  z.object({
    ifname: z.string(),
    flags: z.array(z.string()).optional(),
    addr_info: z
      .array(
        z.object({
          family: z.string().optional(),
          local: z.string().optional(),
          prefixlen: z.number().optional(),
          scope: z.string().optional(),
          dadfailed: z.boolean().optional(),
          deprecated: z.boolean().optional(),
        }),
      )
      .optional(),
  }),
);

const IpRouteJson = z.array(
  z.object({
    type: z.string().optional(),
    dst: z.string(),
    gateway: z.string().optional(),
    protocol: z.union([z.string(), z.number()]).optional(),
    metric: z.number().optional(),
    nexthops: z.array(z.object({ gateway: z.string().optional() })).optional(),
  }),
);

const NftTablesJson = z.object({
  nftables: z.array(z.object({ table: z.object({ family: z.string(), name: z.string() }).optional() })),
});

/**
 * Parses `ip [-n NS] -j addr show`: links with their inet/inet6 addresses, in the kernel's order
 * (per family; within a scope the newest address first).
 */
export function parseIpAddrJson(text: string): ObservedRouterLink[] {
  return parseToolJson(IpAddrJson, text, 'ip -j addr show').map((l) => ({
    name: l.ifname,
    up: (l.flags ?? []).includes('UP'),
    addresses: (l.addr_info ?? []).flatMap((a): ObservedAddress[] => {
      const family = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : null;
      if (family === null || a.local === undefined || a.prefixlen === undefined || !isValidIp(a.local)) return [];
      return [
        {
          family,
          cidr: `${normalizeIp(a.local)}/${a.prefixlen}`,
          scope: a.scope ?? 'global',
          dadFailed: a.dadfailed === true,
          deprecated: a.deprecated === true,
        },
      ];
    }),
  }));
}

/** Parses `ip [-n NS] -N [-6] -j route show table main`; `family` says which of the two it was. */
export function parseIpRouteJson(text: string, family: 4 | 6): ObservedRoute[] {
  return parseToolJson(IpRouteJson, text, 'ip -j route show').map((r) => {
    const gateways = r.nexthops !== undefined ? r.nexthops.map((n) => n.gateway) : [r.gateway];
    return {
      family,
      destination: canonicalDestination(r.dst, family),
      nexthops: gateways
        .filter((g): g is string => g !== undefined)
        .map((g) => (isValidIp(g) ? normalizeIp(g) : g))
        .sort(),
      protocol: r.protocol === undefined ? '' : String(r.protocol),
      metric: r.metric ?? null,
      type: r.type ?? 'unicast',
    };
  });
}

function canonicalDestination(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  const cidr = dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
  try {
    return formatCidr(parseCidr(cidr));
  } catch {
    return dst; // something we never create (e.g. a multicast route); kept as printed
  }
}

/** Parses `sysctl -n KEY...`: one value per line, in the order of `keys`. */
export function parseSysctlValues(text: string, keys: readonly string[]): Record<string, string> {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length !== keys.length) {
    throw new DataplaneError('DATAPLANE.BAD_OUTPUT', `sysctl -n: expected ${keys.length} values, got ${JSON.stringify(text)}`);
  }
  return Object.fromEntries(keys.map((key, i) => [key, lines[i] ?? '']));
}

/** Parses `nft -j list tables` into `family name` pairs. */
export function parseNftTablesJson(text: string): string[] {
  return parseToolJson(NftTablesJson, text.trim() === '' ? '{"nftables":[]}' : text, 'nft -j list tables').nftables.flatMap((e) =>
    e.table === undefined ? [] : [`${e.table.family} ${e.table.name}`],
  );
}

/**
 * Parses the text of `nft list table inet ncp_router`. The text form, not JSON: nft 1.0.6 leaves
 * table comments out of its JSON output. Only our own table is read, whose layout we render
 * ourselves: the table comment at depth one, `chain NAME {` blocks, one rule per line after the
 * `type ... hook ...` line.
 */
export function parseNftTableText(text: string): ObservedRuleset {
  let comment: string | null = null;
  const rules: Record<string, number> = {};
  const dnat: Record<string, string> = {};
  let chain: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const chainStart = /^chain (\S+) \{$/.exec(line);
    if (chainStart !== null) {
      chain = chainStart[1] ?? null;
      if (chain !== null) rules[chain] = 0;
      continue;
    }
    if (chain === null) {
      const c = /^comment "([^"]*)"$/.exec(line);
      if (c !== null) comment = c[1] ?? null;
      continue;
    }
    if (line === '}') {
      chain = null;
      continue;
    }
    if (/^type \S+ hook /.test(line) || line.startsWith('policy ') || line.startsWith('comment ')) continue;
    rules[chain] = (rules[chain] ?? 0) + 1;
    const d = /^ip daddr (\S+) dnat ip to (\S+)$/.exec(line);
    if (chain === 'prerouting' && d !== null) {
      const [, floating = '', fixed = ''] = d;
      if (isValidIp(floating) && isValidIp(fixed)) dnat[normalizeIp(floating)] = normalizeIp(fixed);
    }
  }
  return { comment, rules, dnat };
}
