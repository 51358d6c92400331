import { RouterIntentSchema, type RouterIntent } from '@ncp/contracts';
import { cidrContainsIp, eui64Address, formatIp, isValidMac, normalizeIp, parseCidr, parseIp } from '@ncp/netaddr';
import { z } from 'zod';
import { ipArgv } from '../argv.js';
import { DataplaneError } from '../errors.js';
import { parseToolJson } from '../json-output.js';
import { netnsExecArgv } from '../l3/argv.js';
import { type ObservedRouterLink } from '../l3/observed.js';
import { haPrimaryVip } from '../l3/plan.js';
import { assertLinkName, assertNetnsName } from '../names.js';
import { type KeepalivedFiles } from './paths.js';

/** One address keepalived adds on the master and removes on the backup. */
export interface KeepalivedAddress {
  /** canonical `address/prefixlen` */
  readonly cidr: string;
  readonly dev: string;
  /** `link` for the IPv6 link-local gateway address */
  readonly scope: 'global' | 'link';
}

export interface KeepalivedRoute {
  /** canonical CIDR */
  readonly destination: string;
  /** sorted; more than one = ECMP */
  readonly nexthops: readonly { readonly via: string; readonly dev: string }[];
}

/** What keepalived.conf says for one HA router: everything the master holds and the backup does not. */
export interface KeepalivedRouter {
  readonly routerId: string;
  readonly namespace: string;
  readonly vrid: number;
  readonly priority: number;
  /** seconds between adverts */
  readonly advertSeconds: number;
  readonly haIfname: string;
  /** the qr-/qg- interfaces, sorted */
  readonly interfaces: readonly string[];
  /** keepalived's primary VIP on the ha- interface (169.254.0.<vrid>/24): present = master */
  readonly primaryVip: string;
  /** the qr-/qg- addresses, their link-local gateway addresses and the floating IPs */
  readonly addresses: readonly KeepalivedAddress[];
  readonly routes: readonly KeepalivedRoute[];
}

/**
 * VRRPv3 adverts every half second unless the intent says otherwise: the backup takes over 3
 * adverts plus its skew time ((256 - priority) / 256 adverts) after the master's last one,
 * about 1.9 s at priority 50 (VRRPv2's whole seconds would make it 3.8 s).
 */
export const ADVERT_INTERVAL_SECONDS = 0.5;
/**
 * Gratuitous ARPs / unsolicited NAs on becoming master: a burst of `REPEAT`, and another
 * burst `DELAY` seconds later for the neighbours that missed the first (a switch still
 * learning, an upstream ARP cache refreshed in between).
 */
export const GARP_MASTER_REPEAT = 3;
export const GARP_MASTER_DELAY_SECONDS = 5;

const LINK_LOCAL_V6 = parseCidr('fe80::/64');
const LINK_LOCAL_RANGE = parseCidr('fe80::/10');

function invalid(routerId: string, message: string): DataplaneError {
  return new DataplaneError('DATAPLANE.INVALID_CONFIG', `HA router ${routerId}: ${message}`);
}

const canonicalCidr = (text: string): { cidr: string; network: ReturnType<typeof parseCidr> } => {
  const slash = text.indexOf('/');
  const network = parseCidr(text);
  return { cidr: `${normalizeIp(text.slice(0, slash))}/${network.prefixLength}`, network };
};

/**
 * The keepalived view of an HA router intent. `macs` are the MACs of the router's interfaces as
 * plugged (by name): the link-local gateway address of a qr-/qg- interface is the EUI-64
 * address of its port's MAC (what the RA driver advertises from, and the same on both hosts,
 * which plug the same port); an interface not plugged yet gets it once it is. Pure.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an intent that is not an HA router or
 *   is invalid (the L3 planner refuses those with its reasons first)
 */
export function keepalivedRouter(intent: RouterIntent, macs: ReadonlyMap<string, string>): KeepalivedRouter {
  const parsed = RouterIntentSchema.safeParse(intent);
  if (!parsed.success) throw invalid(String(intent.id), `invalid intent: ${parsed.error.message}`);
  const r = parsed.data;
  if (r.ha === undefined || r.ha === null) throw invalid(r.id, 'the intent has no HA settings');
  const ha = r.ha;
  const addresses: KeepalivedAddress[] = [];
  const subnets: { dev: string; network: ReturnType<typeof parseCidr> }[] = [];
  for (const i of [...r.interfaces].sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0))) {
    const dev = assertLinkName(i.ifname);
    for (const text of i.addresses) {
      const { cidr, network } = canonicalCidr(text);
      addresses.push({ cidr, dev, scope: 'global' });
      subnets.push({ dev, network });
    }
    const mac = macs.get(dev);
    if (mac !== undefined && isValidMac(mac)) addresses.push({ cidr: `${formatIp(6, eui64Address(LINK_LOCAL_V6, mac))}/64`, dev, scope: 'link' });
  }
  const gateway = r.interfaces.find((i) => i.kind === 'gateway');
  for (const f of [...r.floatingIps].sort((a, b) => compareIp(a.floatingIp, b.floatingIp))) {
    if (gateway === undefined) throw invalid(r.id, `floating IP ${f.floatingIp} needs a gateway interface`);
    addresses.push({ cidr: `${normalizeIp(f.floatingIp)}/32`, dev: gateway.ifname, scope: 'global' });
  }

  const byDestination = new Map<string, { destination: string; nexthops: Map<string, { via: string; dev: string }> }>();
  for (const rt of r.routes) {
    const destination = canonicalCidr(rt.destination).cidr;
    const nexthop = parseIp(rt.nexthop);
    const via = normalizeIp(rt.nexthop);
    const linkLocal = nexthop.version === 6 && cidrContainsIp(LINK_LOCAL_RANGE, nexthop);
    const dev = linkLocal ? gateway?.ifname : subnets.find((s) => cidrContainsIp(s.network, nexthop))?.dev;
    if (dev === undefined) throw invalid(r.id, `route ${destination}: nexthop ${via} is on no interface of the router`);
    const entry = byDestination.get(destination) ?? { destination, nexthops: new Map() };
    entry.nexthops.set(via, { via, dev });
    byDestination.set(destination, entry);
  }
  const routes = [...byDestination.values()]
    .map((e) => ({ destination: e.destination, nexthops: [...e.nexthops.values()].sort((a, b) => compareIp(a.via, b.via)) }))
    .sort((a, b) => compareCidr(a.destination, b.destination));

  return {
    routerId: r.id.toLowerCase(),
    namespace: assertNetnsName(r.namespace),
    vrid: ha.vrid,
    priority: ha.priority,
    advertSeconds: ha.advertSeconds ?? ADVERT_INTERVAL_SECONDS,
    haIfname: assertLinkName(ha.interface.ifname),
    interfaces: r.interfaces.map((i) => i.ifname).sort(),
    primaryVip: haPrimaryVip(ha.vrid),
    addresses,
    routes,
  };
}

function compareIp(a: string, b: string): number {
  const x = parseIp(a);
  const y = parseIp(b);
  return x.version - y.version || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0);
}

function compareCidr(a: string, b: string): number {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.version - y.version || (x.network < y.network ? -1 : x.network > y.network ? 1 : 0) || x.prefixLength - y.prefixLength;
}

/**
 * keepalived.conf for one HA router, as Neutron writes it: both instances start as BACKUP with
 * the same priority and `nopreempt` (whoever is master stays master: a returning host does not
 * take the router back and cut its traffic twice); the only VIP in the adverts is the primary
 * one on the ha- interface, and everything else is `virtual_ipaddress_excluded` (no limit of 20
 * per advert) and `virtual_routes`. `dynamic_interfaces`: an interface plugged after keepalived
 * started gets its addresses when it appears. Pure.
 */
export function renderKeepalivedConf(router: KeepalivedRouter): string {
  const lines = [
    `# keepalived.conf of HA router ${router.routerId}, written by the ncp agent: changes are overwritten`,
    'global_defs {',
    `    router_id ${router.namespace}`,
    '    dynamic_interfaces',
    `    vrrp_garp_master_repeat ${GARP_MASTER_REPEAT}`,
    `    vrrp_garp_master_delay ${GARP_MASTER_DELAY_SECONDS}`,
    '}',
    '',
    `vrrp_instance VR_${router.vrid} {`,
    '    state BACKUP',
    `    interface ${router.haIfname}`,
    `    virtual_router_id ${router.vrid}`,
    `    priority ${router.priority}`,
    '    nopreempt',
    '    version 3',
    `    advert_int ${router.advertSeconds}`,
    '    virtual_ipaddress {',
    `        ${router.primaryVip} dev ${router.haIfname}`,
    '    }',
  ];
  if (router.addresses.length > 0) {
    lines.push('    virtual_ipaddress_excluded {');
    // (keepalived gives an fe80:: address link scope itself, and refuses a `scope` for IPv6)
    for (const a of router.addresses) lines.push(`        ${a.cidr} dev ${a.dev}`);
    lines.push('    }');
  }
  if (router.routes.length > 0) {
    lines.push('    virtual_routes {');
    for (const rt of router.routes) {
      const [single] = rt.nexthops;
      if (single !== undefined && rt.nexthops.length === 1) lines.push(`        ${rt.destination} via ${single.via} dev ${single.dev}`);
      else {
        // a device of the route as a whole lets keepalived track it (all nexthops through one)
        const devs = new Set(rt.nexthops.map((nh) => nh.dev));
        const dev = devs.size === 1 ? ` dev ${[...devs].join('')}` : '';
        lines.push(`        ${rt.destination}${dev} ${rt.nexthops.map((nh) => `nexthop via ${nh.via} dev ${nh.dev}`).join(' ')}`);
      }
    }
    lines.push('    }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

/**
 * `ip netns exec <ns> keepalived --vrrp -f <conf> -p <pid> -r <vrrp pid>`: VRRP only (no
 * health checker), forking, logging to syslog. The pid files also make each instance its own:
 * keepalived refuses to start when its pid files name a live keepalived.
 */
export function keepalivedArgv(namespace: string, files: KeepalivedFiles): string[] {
  return netnsExecArgv(namespace, 'keepalived', '--vrrp', '-f', files.confFile, '-p', files.pidFile, '-r', files.vrrpPidFile);
}

export type HaState = 'active' | 'standby';

/**
 * Which role this host plays for the router: active (VRRP master) when keepalived's primary VIP
 * is on the ha- interface, standby otherwise (backup, still electing, or keepalived down).
 * Pure, on `ip -j addr show` of the namespace.
 */
export function haStateOf(links: readonly ObservedRouterLink[], haIfname: string, primaryVip: string): HaState {
  const link = links.find((l) => l.name === haIfname);
  return link?.addresses.some((a) => a.cidr === primaryVip) === true ? 'active' : 'standby';
}

/** One link of `ip -d -j link show`: its MAC and how the kernel makes its IPv6 link-local address. */
export interface LinkDetails {
  readonly name: string;
  readonly mac: string | null;
  /** `eui64` (the default), `none`, `stable_secret`, `random`; null when ip prints none */
  readonly addrGenMode: string | null;
}

const IpLinkDetailsJson = z.array(z.object({ ifname: z.string(), address: z.string().optional(), inet6_addr_gen_mode: z.string().optional() }).passthrough());

/** Parses `ip -d -j link show`. */
export function parseLinkDetails(text: string): LinkDetails[] {
  return parseToolJson(IpLinkDetailsJson, text, 'ip -d -j link show').map((l) => ({
    name: l.ifname,
    mac: l.address?.toLowerCase() ?? null,
    addrGenMode: l.inet6_addr_gen_mode ?? null,
  }));
}

/** One command preparing an HA router's interfaces, with the reason shown when it fails. */
export interface HaLinkStep {
  readonly argv: readonly string[];
  readonly why: string;
}

/**
 * The backup must be silent on the networks the router serves: its qr-/qg- interfaces carry the
 * same MACs as the master's (the same ports, plugged on both hosts), and any frame from them
 * (a DAD probe, an MLD report) would teach the bridges the MAC in the wrong place. The kernel
 * would give each a link-local address; keepalived gives the master its link-local gateway
 * address instead. So: `addrgenmode none` on each plugged qr-/qg- interface and, when that
 * changes, the link-local addresses the kernel made removed. That happens once per device (a
 * port plugged anew is a new device), before keepalived is (re)loaded with it. Pure; empty =
 * converged.
 */
export function planHaLinks(router: KeepalivedRouter, details: readonly LinkDetails[]): HaLinkStep[] {
  const ns = router.namespace;
  const steps: HaLinkStep[] = [];
  for (const link of details) {
    if (!router.interfaces.includes(link.name) || link.addrGenMode === 'none') continue;
    const dev = assertLinkName(link.name);
    steps.push({ argv: ipArgv(ns, 'link', 'set', 'dev', dev, 'addrgenmode', 'none'), why: `${dev}: no kernel link-local address (keepalived holds it)` });
    steps.push({ argv: ipArgv(ns, '-6', 'addr', 'flush', 'dev', dev, 'scope', 'link'), why: `${dev}: removing the kernel's link-local addresses` });
  }
  return steps;
}

/**
 * A router that is no longer HA on this host (migrated to legacy) is addressed by the L3
 * driver itself, and its interfaces need their link-local addresses again (the IPv6 gateway,
 * radvd's source): on each of its qr-/qg- interfaces still in `addrgenmode none`, the EUI-64
 * link-local address of its MAC (`replace`: a pass cut short after it does it again), then
 * `addrgenmode eui64` (the kernel makes no address when only the mode changes, but will when
 * the link comes up again; the mode is also what says this is done). Pure.
 */
export function planLegacyLinks(namespace: string, interfaces: readonly string[], details: readonly LinkDetails[]): HaLinkStep[] {
  return details
    .filter((link) => interfaces.includes(link.name) && link.addrGenMode === 'none')
    .flatMap((link) => {
      const dev = assertLinkName(link.name);
      const why = `${dev}: its link-local address again (no longer HA)`;
      const linkLocal = link.mac !== null && isValidMac(link.mac) ? `${formatIp(6, eui64Address(LINK_LOCAL_V6, link.mac))}/64` : null;
      const address = linkLocal === null ? [] : [{ argv: ipArgv(namespace, '-6', 'addr', 'replace', linkLocal, 'dev', dev), why }];
      return [...address, { argv: ipArgv(namespace, 'link', 'set', 'dev', dev, 'addrgenmode', 'eui64'), why }];
    });
}
