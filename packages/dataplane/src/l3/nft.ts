import { createHash } from 'node:crypto';
import { type RouterIntent } from '@ncp/contracts';
import { formatCidr, mergeCidrs, parseCidr, parseIp, type Cidr } from '@ncp/netaddr';
import { DataplaneError } from '../errors.js';
import { assertIp, assertLinkName } from '../names.js';
import { NFT_TABLE_FAMILY, NFT_TABLE_NAME } from './observed.js';

/** A floating IP as NAT sees it: 1:1 between the floating and the fixed address. */
export interface FloatingNat {
  readonly floatingIp: string;
  readonly fixedIp: string;
}

/** Source NAT of an internal subnet to the gateway address, except towards some destinations. */
export interface SourceNat {
  /** canonical CIDR */
  readonly source: string;
  readonly to: string;
  /** canonical CIDRs, merged (no overlaps, which nft refuses in an anonymous set) and sorted */
  readonly exceptDestinations: readonly string[];
}

/** The NAT of one router as data, in the order the rules are rendered. */
export interface RouterNat {
  /** the gateway (qg-) interface: the output interface of every SNAT rule */
  readonly gateway: string;
  /** by floating address */
  readonly floatingIps: readonly FloatingNat[];
  /** longest source prefix first (the first matching rule wins), then by address */
  readonly snat: readonly SourceNat[];
}

/** The serialized table with what observe can compare it by. */
export interface RenderedRuleset {
  /** `table inet ncp_router { ... }`, as `nft list table` prints it back (but for the empty lines between chains) */
  readonly text: string;
  /** the table comment: a hash of the chains, so an unchanged ruleset is recognised by it */
  readonly comment: string;
  /** the number of rules per chain */
  readonly rules: Readonly<Record<string, number>>;
}

const CHAINS = {
  prerouting: 'type nat hook prerouting priority dstnat; policy accept;',
  // nft 1.0.6 refuses the `dstnat` keyword in the output hook: -100 is its value.
  output: 'type nat hook output priority -100; policy accept;',
  postrouting: 'type nat hook postrouting priority srcnat; policy accept;',
} as const;

/**
 * The NAT of a router, validated and in a canonical order, or null when it has none (no SNAT,
 * no floating IPs). Pure; the order of the intent's lists does not matter.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_ADDRESS` / `DATAPLANE.INVALID_CONFIG` for a value
 *   that must not reach nft (the planner validates first and passes only valid entries).
 */
export function routerNat(intent: RouterIntent): RouterNat | null {
  if (intent.snat.length === 0 && intent.floatingIps.length === 0) return null;
  const gateways = intent.interfaces.filter((i) => i.kind === 'gateway');
  const [gw] = gateways;
  if (gw === undefined || gateways.length > 1) {
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `router ${intent.id}: NAT needs exactly one gateway interface, it has ${gateways.length}`);
  }
  const gateway = assertLinkName(gw.ifname);

  const fips = new Map<string, FloatingNat>();
  const fixedSeen = new Map<string, string>();
  for (const f of intent.floatingIps) {
    const floatingIp = ipv4(f.floatingIp);
    const fixedIp = ipv4(f.fixedIp);
    const known = fips.get(floatingIp);
    if (known !== undefined && known.fixedIp !== fixedIp) {
      throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `floating IP ${floatingIp} maps to both ${known.fixedIp} and ${fixedIp}`);
    }
    const other = fixedSeen.get(fixedIp);
    if (other !== undefined && other !== floatingIp) {
      throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `fixed IP ${fixedIp} has two floating IPs (${other}, ${floatingIp})`);
    }
    fips.set(floatingIp, { floatingIp, fixedIp });
    fixedSeen.set(fixedIp, floatingIp);
  }

  const snat = new Map<string, SourceNat & { cidr: Cidr }>();
  for (const s of intent.snat) {
    const cidr = ipv4Cidr(s.source);
    const source = formatCidr(cidr);
    const to = ipv4(s.to);
    const except = mergeCidrs(s.exceptDestinations.map(ipv4Cidr)).sort(compareCidr).map(formatCidr);
    const entry = { source, to, exceptDestinations: except, cidr };
    const known = snat.get(source);
    if (known !== undefined && JSON.stringify([known.to, known.exceptDestinations]) !== JSON.stringify([to, except])) {
      throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `two different SNAT entries for source ${source}`);
    }
    snat.set(source, entry);
  }

  return {
    gateway,
    floatingIps: [...fips.values()].sort((a, b) => compareIp(a.floatingIp, b.floatingIp)),
    snat: [...snat.values()]
      .sort((a, b) => b.cidr.prefixLength - a.cidr.prefixLength || compareCidr(a.cidr, b.cidr))
      .map(({ source, to, exceptDestinations }) => ({ source, to, exceptDestinations })),
  };
}

/** The table for a router's NAT (see {@link routerNat}), with its hash comment. */
export function renderRouterNat(nat: RouterNat): RenderedRuleset {
  const oif = `oifname "${assertLinkName(nat.gateway)}"`;
  const dnat = nat.floatingIps.map((f) => `ip daddr ${ipv4(f.floatingIp)} dnat ip to ${ipv4(f.fixedIp)}`);
  const postrouting = [
    ...nat.floatingIps.map((f) => `ip saddr ${ipv4(f.fixedIp)} ${oif} snat ip to ${ipv4(f.floatingIp)}`),
    ...nat.snat.map((s) => {
      const except = s.exceptDestinations.map((c) => nftPrefix(ipv4Cidr(c)));
      const daddr = except.length === 0 ? '' : except.length === 1 ? ` ip daddr != ${except.join('')}` : ` ip daddr != { ${except.join(', ')} }`;
      return `ip saddr ${nftPrefix(ipv4Cidr(s.source))}${daddr} ${oif} snat ip to ${ipv4(s.to)}`;
    }),
  ];
  const rules: Record<keyof typeof CHAINS, string[]> = { prerouting: dnat, output: dnat, postrouting };
  const chains = (Object.keys(CHAINS) as (keyof typeof CHAINS)[]).flatMap((name) => [
    `\tchain ${name} {`,
    `\t\t${CHAINS[name]}`,
    ...rules[name].map((r) => `\t\t${r}`),
    '\t}',
  ]);
  const body = chains.join('\n');
  const comment = `ncp:sha256:${createHash('sha256').update(body).digest('hex')}`;
  return {
    text: `table ${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME} {\n\tcomment "${comment}"\n${body}\n}\n`,
    comment,
    rules: Object.fromEntries(Object.entries(rules).map(([name, list]) => [name, list.length])),
  };
}

/**
 * `table inet ncp_router { ... }` for a router, or '' when it needs no NAT (then the table must
 * not exist). Deterministic: the same intent in any order renders the same text.
 *
 * @throws DataplaneError for an invalid address or a NAT without exactly one gateway interface
 */
export function renderRouterRuleset(intent: RouterIntent): string {
  const nat = routerNat(intent);
  return nat === null ? '' : renderRouterNat(nat).text;
}

/**
 * What `nft -f -` is given to replace the table atomically: create it if absent (so the delete
 * cannot fail), delete it, create it in full. nft runs a file as one transaction, so packets see
 * either the old rules or the new ones, never an empty table.
 */
export function replaceTableScript(rendered: RenderedRuleset): string {
  return `table ${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME} {}\ndelete table ${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME}\n${rendered.text}`;
}

/**
 * A prefix as `nft list` prints it back (a /32 as a bare address; likewise a one-element set
 * without braces), so that the rendered table reads exactly like the listed one.
 */
function nftPrefix(cidr: Cidr): string {
  const text = formatCidr(cidr);
  return cidr.prefixLength === 32 ? text.slice(0, text.indexOf('/')) : text;
}

function ipv4(text: string): string {
  const ip = assertIp(text);
  if (parseIp(ip).version !== 4) throw new DataplaneError('DATAPLANE.INVALID_ADDRESS', `${ip} is not an IPv4 address (NAT is IPv4 only)`);
  return ip;
}

function ipv4Cidr(text: string): Cidr {
  let cidr: Cidr;
  try {
    cidr = parseCidr(text, { strict: true });
  } catch (error) {
    throw new DataplaneError('DATAPLANE.INVALID_ADDRESS', error instanceof Error ? error.message : String(error));
  }
  if (cidr.version !== 4) throw new DataplaneError('DATAPLANE.INVALID_ADDRESS', `${text} is not an IPv4 prefix (NAT is IPv4 only)`);
  return cidr;
}

function compareIp(a: string, b: string): number {
  const x = parseIp(a).value;
  const y = parseIp(b).value;
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareCidr(a: Cidr, b: Cidr): number {
  return a.network < b.network ? -1 : a.network > b.network ? 1 : a.prefixLength - b.prefixLength;
}
