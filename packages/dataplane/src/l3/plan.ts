import { FloatingIpIntentSchema, RouterIntentSchema, isValidId, isValidNetnsName, type FloatingIpIntent, type RouterIntent } from '@ncp/contracts';
import { cidrContainsIp, cidrsOverlap, formatCidr, isValidIp, normalizeIp, parseCidr, parseIp, type Cidr, type IpAddress } from '@ncp/netaddr';
import { ipArgv } from '../argv.js';
import { acceptOne, compare, conflicting, groupById } from '../intent-groups.js';
import { type Plan, type PlanItemError } from '../steps.js';
import { netnsExecArgv } from './argv.js';
import { NO_EFFECT, addressEffect, type L3StepEffect } from './effects.js';
import { resolveL3Options, type L3Options } from './model.js';
import { renderRouterNat, replaceTableScript, routerNat, type RouterNat } from './nft.js';
import {
  NFT_TABLE_FAMILY,
  NFT_TABLE_NAME,
  ROUTER_SYSCTLS,
  parseNftTableText,
  type ObservedL3,
  type ObservedRouterLink,
  type ObservedRouterNs,
} from './observed.js';

/** What a step belongs to: failures are reported, and stop further steps, per item. */
export type L3Item = `router:${string}` | `fip:${string}` | 'sweep';

/**
 * A failure that does not fail the item. `best-effort`: reported as a warning (the gratuitous
 * ARP: neighbours also learn the address by asking). `no-flow-entries`: conntrack exits 1 when
 * there was nothing to delete, which is success here.
 */
export type StepTolerance = 'best-effort' | 'no-flow-entries';

/** One command of the plan. `argv` is run as is with execFile; `why` says what differed. */
export interface L3Step {
  readonly item: L3Item;
  readonly argv: readonly string[];
  readonly why: string;
  /** written to the command's stdin (the ruleset for `nft -f -`) */
  readonly input?: string;
  readonly tolerate?: StepTolerance;
  /** what it does to the namespace as observe reads it, where that is sure (see `L3StepEffect`) */
  readonly effect?: L3StepEffect;
}

/** An item the planner refused or could only partly plan; it may still have steps. */
export type L3ItemError = PlanItemError<L3Item>;

/** Steps: sweep first, then each router by id followed by its floating IPs by id. */
export type L3Plan = Plan<L3Step, L3Item>;

/**
 * The routing protocol number of our routes (`proto 190`). Unassigned in the kernel's
 * rtnetlink.h and iproute2's rt_protos (189 is rip, 192 eigrp), so a route with it is ours
 * without any memory: routes the kernel adds (proto 2), static ones (4), BIRD's (12) or
 * keepalived's (18) are never touched.
 */
export const ROUTE_PROTOCOL = '190';

export const routerItem = (id: string): L3Item => `router:${id}`;
export const fipItem = (id: string): L3Item => `fip:${id}`;

interface DesiredAddress {
  /** canonical `address/prefixlen` */
  readonly cidr: string;
  readonly ip: IpAddress;
  readonly subnet: Cidr;
}

interface DesiredInterface {
  readonly kind: 'internal' | 'gateway' | 'ha';
  readonly ifname: string;
  readonly addresses: readonly DesiredAddress[];
}

interface DesiredNexthop {
  /** canonical */
  readonly address: string;
  /** given for an IPv6 link-local nexthop only (on the gateway interface) */
  readonly dev: string | null;
}

interface DesiredRoute {
  readonly family: 4 | 6;
  /** canonical CIDR */
  readonly destination: string;
  /** sorted by address; more than one = ECMP */
  readonly nexthops: readonly DesiredNexthop[];
  /** the interfaces the nexthops are reached through */
  readonly via: readonly string[];
}

interface DesiredFip {
  readonly item: L3Item;
  readonly id: string;
  readonly floatingIp: string;
  readonly fixedIp: string;
}

/** A router that passed validation, with everything derived from it. */
interface DesiredRouter {
  readonly item: L3Item;
  readonly id: string;
  readonly namespace: string;
  readonly adminStateUp: boolean;
  readonly interfaces: readonly DesiredInterface[];
  readonly gateway: DesiredInterface | null;
  readonly routes: readonly DesiredRoute[];
  readonly fips: readonly DesiredFip[];
  /** `F/32` of floating IPs in the intent but in error: neither added nor removed */
  readonly keptFipAddresses: ReadonlySet<string>;
  readonly nat: RouterNat | null;
  /** an HA router: keepalived holds the addresses of the qr-/qg- interfaces and the routes */
  readonly ha: DesiredHa | null;
}

interface DesiredHa {
  /** the HA port's interface, whose one address the planner adds */
  readonly iface: DesiredInterface;
  /** keepalived's primary VIP on it (`169.254.0.<vrid>/24`): there on the master only, never removed here */
  readonly primaryVip: string;
}

const INTERFACE_PREFIX = { internal: 'qr-', gateway: 'qg-', ha: 'ha-' } as const;
const OUR_LINK = /^(q[rg]|ha)-/;
/** What `ip route replace` gives a route without `metric`: 0 for IPv4 (printed as none), 1024 for IPv6. */
const DEFAULT_METRIC = { 4: null, 6: 1024 } as const;
const LINK_LOCAL_V6 = parseCidr('fe80::/10');
const EMPTY_NS: ObservedRouterNs = { links: [], routes: [], sysctl: {}, ruleset: null };

/**
 * The heart of the L3 driver: compares the routers' intent with what their namespaces hold and
 * returns the minimal commands that make them equal. Pure (no I/O, no clock), deterministic
 * (routers, interfaces, routes, SNAT entries and floating IPs are sorted), and empty when every
 * namespace already matches, so a resync never disturbs a working router.
 *
 * Ours without memory: namespaces named `<prefix><8 hex>` (and marked, with an owner),
 * interfaces named `qr-`/`qg-` inside them, routes with protocol {@link ROUTE_PROTOCOL}, and the
 * nftables table `inet ncp_router`.
 * Nothing else is changed (link-local and other non-global addresses, other protocols' routes,
 * other tables, other links).
 *
 * A router whose intent is invalid gets no steps at all (what works keeps working). A router
 * whose interface is not plugged yet (the L2 driver plugs them) is an error, but everything
 * that does not depend on that interface is still planned.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for invalid options.
 */
export function planL3(intents: readonly RouterIntent[], observed: ObservedL3, options: L3Options = {}): L3Plan {
  const { namespacePrefix: prefix, namespacePattern, ownerMark } = resolveL3Options(options);
  const errors = new Map<L3Item, string>();
  const fail = (item: L3Item, message: string): void => {
    if (!errors.has(item)) errors.set(item, message);
  };

  // --- Desired routers ---------------------------------------------------------------------
  const routers: DesiredRouter[] = [];
  const nsOwners = new Map<string, string>();
  const fipOwners = new Map<string, string>();
  const keep = new Set<string>();
  for (const [id, group] of groupById(intents)) {
    const item = routerItem(group.raw);
    for (const value of group.values) {
      if (typeof value.namespace === 'string' && isValidNetnsName(value.namespace)) keep.add(value.namespace);
    }
    if (isValidId(id)) keep.add(`${prefix}${id.replace(/-/g, '').slice(0, 8)}`);
    const failFips = (why: string): void => {
      for (const v of group.values) {
        for (const f of Array.isArray(v.floatingIps) ? v.floatingIps : []) {
          if (typeof f.id === 'string') fail(fipItem(f.id), `router ${group.raw} is in error on this host, so its floating IPs are not configured`);
        }
      }
      fail(item, why);
    };
    // The router without its floating IPs: a bad floating IP fails only its own item.
    const first = group.values[0];
    const intent = conflicting(group.values)
      ? 'the intent holds conflicting entries for this router'
      : acceptOne(RouterIntentSchema, first === undefined ? [] : [{ ...first, floatingIps: [] }], 'router');
    if (typeof intent === 'string') {
      failFips(intent);
      continue;
    }
    const fipValues = Array.isArray(first?.floatingIps) ? first.floatingIps : [];
    const built = buildRouter(item, id, intent, fipValues, prefix, fipOwners, fail);
    if (typeof built === 'string') {
      failFips(built);
      continue;
    }
    const clash = nsOwners.get(built.namespace);
    if (clash !== undefined) {
      failFips(`its namespace ${built.namespace} is already the namespace of router ${clash}: the first 8 hex digits of the ids are equal`);
      continue;
    }
    nsOwners.set(built.namespace, id);
    routers.push(built);
  }

  // --- Sweep: router namespaces (by exact name form, and mark) that no intent wants ------------
  const sweepSteps: L3Step[] = observed.netns
    .filter((ns) => namespacePattern.test(ns) && !keep.has(ns) && (ownerMark === null || observed.marks?.[ns] === ownerMark))
    .sort(compare)
    .map((ns) => ({ item: 'sweep', argv: ['ip', 'netns', 'del', ns], why: `router namespace ${ns} is no longer wanted` }));

  // --- Routers -------------------------------------------------------------------------------
  const routerSteps: L3Step[] = [];
  for (const router of routers) {
    const unreadable = observed.errors?.[router.namespace];
    if (unreadable !== undefined) {
      fail(router.item, `reading namespace ${router.namespace} failed: ${unreadable}`);
      for (const f of router.fips) fail(f.item, `router ${router.id}: reading namespace ${router.namespace} failed`);
      continue;
    }
    routerSteps.push(...planRouter(router, observed, ownerMark, fail));
  }

  return {
    steps: [...sweepSteps, ...routerSteps],
    errors: [...errors].map(([item, error]) => ({ item, error })).sort((a, b) => compare(a.item, b.item)),
  };
}

type Fail = (item: L3Item, message: string) => void;

const withEffect = (effect: L3StepEffect | undefined): { effect?: L3StepEffect } => (effect === undefined ? {} : { effect });

function planRouter(r: DesiredRouter, observed: ObservedL3, ownerMark: string | null, fail: Fail): L3Step[] {
  const ns = r.namespace;
  const exists = observed.netns.includes(ns);
  const state = exists ? (observed.routers[ns] ?? EMPTY_NS) : EMPTY_NS;
  const links = new Map(state.links.map((l) => [l.name, l]));
  const steps: L3Step[] = [];
  const ip = (why: string, ...args: string[]): void => {
    steps.push({ item: r.item, argv: ipArgv(ns, ...args), why });
  };
  const address = (why: string, add: boolean, cidr: string, link: string): void => {
    steps.push({ item: r.item, argv: ipArgv(ns, 'addr', add ? 'add' : 'del', cidr, 'dev', link), why, ...withEffect(addressEffect(link, cidr, add)) });
  };
  const exec = (why: string, args: string[], tolerate?: StepTolerance, effect?: L3StepEffect): void => {
    steps.push({ item: r.item, argv: netnsExecArgv(ns, ...args), why, ...(tolerate === undefined ? {} : { tolerate }), ...withEffect(effect) });
  };
  const partial: string[] = [];

  // Namespace: normally made by the L2 driver when it plugs the first port.
  if (!exists) steps.push({ item: r.item, argv: ['ip', 'netns', 'add', ns], why: `create the router namespace ${ns}` });

  // Admin state is forwarding on or off. The links are the L2 driver's (it plugs the router
  // ports and keeps them up): toggling them here would fight it on every resync.
  const wantedSysctls: Record<string, string> = { ...ROUTER_SYSCTLS };
  if (!r.adminStateUp) {
    wantedSysctls['net.ipv4.ip_forward'] = '0';
    wantedSysctls['net.ipv6.conf.all.forwarding'] = '0';
  }
  const sysctls = Object.entries(wantedSysctls).filter(([key, value]) => state.sysctl[key] !== value);
  if (sysctls.length > 0) {
    exec(sysctls.map(([key]) => `${key} ${state.sysctl[key] ?? 'unknown'} -> ${wantedSysctls[key] ?? ''}`).join(', '), [
      'sysctl',
      '-q',
      '-w',
      ...sysctls.map(([key, value]) => `${key}=${value}`),
    ]);
  }
  const lo = links.get('lo');
  const loUp = lo === undefined || !lo.up ? ['up'] : [];
  const mark = ownerMark !== null && (observed.marks?.[ns] ?? null) !== ownerMark ? ['alias', ownerMark] : [];
  if (loUp.length > 0 || mark.length > 0) {
    ip(
      [...(loUp.length > 0 ? ['loopback up'] : []), ...(mark.length > 0 ? [`mark the namespace ${ownerMark ?? ''}`] : [])].join(', '),
      'link',
      'set',
      'dev',
      'lo',
      ...mark,
      ...loUp,
    );
  }

  // Interfaces that the L2 driver has plugged; the others are reported and skipped.
  const plugged = new Set<string>();
  for (const i of r.ha === null ? r.interfaces : [...r.interfaces, r.ha.iface]) {
    if (links.has(i.ifname)) plugged.add(i.ifname);
    else partial.push(`interface ${i.ifname} not plugged yet`);
  }

  // Routes of ours that are no longer wanted, first: deleting an address may take them along.
  // (an HA router's routes are keepalived's virtual routes: ours are left-overs)
  const wantedRoutes = new Map((r.ha === null ? r.routes : []).map((rt) => [`${rt.family} ${rt.destination}`, rt]));
  const ourRoutes = state.routes.filter((rt) => rt.protocol === ROUTE_PROTOCOL);
  for (const rt of ourRoutes) {
    const standard = rt.type === 'unicast' && rt.metric === DEFAULT_METRIC[rt.family];
    if (wantedRoutes.has(`${rt.family} ${rt.destination}`) && standard) continue;
    ip(
      standard ? `route to ${rt.destination} is no longer wanted` : `route to ${rt.destination} (${rt.type}, metric ${String(rt.metric)}) is not one we make`,
      'route',
      'del',
      ...(rt.type === 'unicast' ? [] : [rt.type]),
      rt.destination,
      'proto',
      ROUTE_PROTOCOL,
      ...(rt.metric === null ? [] : ['metric', String(rt.metric)]),
    );
  }

  // Addresses: exactly the intent's global addresses on our interfaces (plus the floating IPs
  // on the gateway, which their own items add). Link-local and other scopes are the kernel's.
  // An HA router's qr-/qg- addresses (and floating IPs) are keepalived's virtual addresses,
  // held by the master only: here only its ha- interface's address is ours (with keepalived's
  // primary VIP left alone).
  const addressed = r.ha === null ? r.interfaces : [r.ha.iface];
  const wanted = new Map<string, Set<string>>();
  for (const i of addressed) wanted.set(i.ifname, new Set(i.addresses.map((a) => a.cidr)));
  if (r.ha !== null) wanted.get(r.ha.iface.ifname)?.add(r.ha.primaryVip);
  const gw = r.gateway;
  if (gw !== null && r.ha === null) {
    const set = wanted.get(gw.ifname);
    for (const f of r.fips) set?.add(`${f.floatingIp}/32`);
    for (const kept of r.keptFipAddresses) set?.add(kept);
  }
  const removedFromGateway: string[] = [];
  for (const link of [...state.links].sort((a, b) => compare(a.name, b.name))) {
    if (!OUR_LINK.test(link.name) || (r.ha !== null && !link.name.startsWith(INTERFACE_PREFIX.ha))) continue;
    const want = wanted.get(link.name) ?? new Set<string>();
    for (const a of link.addresses) {
      if (a.scope !== 'global') continue;
      if (want.has(a.cidr) && !a.dadFailed) continue;
      if (a.dadFailed) {
        partial.push(`address ${a.cidr} on ${link.name} failed duplicate address detection (re-adding it)`);
      }
      address(a.dadFailed ? `${a.cidr} failed DAD on ${link.name}: remove to retry` : `${a.cidr} is not an address of ${link.name}`, false, a.cidr, link.name);
      if (link.name.startsWith(INTERFACE_PREFIX.gateway) && a.family === 4) removedFromGateway.push(hostPart(a.cidr));
    }
  }
  const newGatewayAddresses: string[] = [];
  for (const i of addressed) {
    const link = links.get(i.ifname);
    if (link === undefined) continue;
    const present = new Set(link.addresses.filter((a) => !a.dadFailed).map((a) => a.cidr));
    for (const a of i.addresses) {
      if (present.has(a.cidr)) continue;
      address(`${i.ifname} needs ${a.cidr}`, true, a.cidr, i.ifname);
      if (i.kind === 'gateway' && a.ip.version === 4) newGatewayAddresses.push(hostPart(a.cidr));
    }
  }

  // Routes: replace what is missing or differs (admin state does not matter: forwarding is
  // what an admin-down router lacks).
  if (r.ha === null) {
    for (const rt of r.routes) {
      if (!rt.via.every((name) => plugged.has(name))) continue; // reported as not plugged
      const other = state.routes.find(
        (o) => o.protocol !== ROUTE_PROTOCOL && o.family === rt.family && o.destination === rt.destination && o.metric === DEFAULT_METRIC[rt.family],
      );
      if (other !== undefined) {
        partial.push(`a route to ${rt.destination} exists and is not ours (protocol ${other.protocol || 'none'}); not replacing it`);
        continue;
      }
      const current = ourRoutes.find(
        (o) => o.family === rt.family && o.destination === rt.destination && o.type === 'unicast' && o.metric === DEFAULT_METRIC[rt.family],
      );
      const nexthops = rt.nexthops.map((nh) => nh.address);
      if (current !== undefined && sameList(current.nexthops, nexthops)) continue;
      const why =
        current === undefined
          ? `route to ${rt.destination} is missing`
          : `route to ${rt.destination} via ${current.nexthops.join(',') || 'none'} -> ${nexthops.join(',')}`;
      const hop = (nh: DesiredNexthop): string[] => ['via', nh.address, ...(nh.dev === null ? [] : ['dev', nh.dev])];
      const [single] = rt.nexthops;
      if (single !== undefined && rt.nexthops.length === 1) ip(why, 'route', 'replace', rt.destination, ...hop(single), 'proto', ROUTE_PROTOCOL);
      else ip(why, 'route', 'replace', rt.destination, 'proto', ROUTE_PROTOCOL, ...rt.nexthops.flatMap((nh) => ['nexthop', ...hop(nh)]));
    }
  }

  // NAT: one atomic replace of our table when its hash or shape differs; no NAT, no table.
  const rendered = r.nat === null ? null : renderRouterNat(r.nat);
  const current = state.ruleset;
  if (rendered === null && current !== null) {
    exec('the router has no NAT any more', ['nft', 'delete', 'table', NFT_TABLE_FAMILY, NFT_TABLE_NAME], undefined, { kind: 'ruleset', ruleset: null });
  } else if (rendered !== null && (current === null || current.comment !== rendered.comment || !sameCounts(current.rules, rendered.rules))) {
    const why =
      current === null ? 'create the NAT table' : current.comment !== rendered.comment ? 'NAT rules changed' : 'NAT rules were changed behind our back';
    // the table as nft lists it back is the rendered text
    const effect: L3StepEffect = { kind: 'ruleset', ruleset: parseNftTableText(rendered.text) };
    steps.push({ item: r.item, argv: netnsExecArgv(ns, 'nft', '-f', '-'), why, input: replaceTableScript(rendered), effect });
  }

  // Connections NATed to an address that went away would live on in conntrack: flush them.
  const wantedFips = new Set(r.fips.map((f) => f.floatingIp));
  const keptFips = new Set([...r.keptFipAddresses].map(hostPart));
  const stale = new Set(removedFromGateway);
  for (const floating of Object.keys(current?.dnat ?? {})) {
    if (!wantedFips.has(floating) && !keptFips.has(floating)) stale.add(floating);
  }
  for (const address of [...stale].sort(compareIpText)) {
    exec(`forget connections to ${address} (removed)`, ['conntrack', '-D', '-d', address], 'no-flow-entries', NO_EFFECT);
    exec(`forget connections NATed to ${address} (removed)`, ['conntrack', '-D', '-q', address], 'no-flow-entries', NO_EFFECT);
  }

  // Tell the upstream neighbours about a new gateway address at once (best effort).
  if (r.adminStateUp && gw !== null) {
    for (const address of newGatewayAddresses) {
      exec(`announce ${address} on ${gw.ifname}`, ['arping', '-U', '-c', '1', '-I', gw.ifname, address], 'best-effort', NO_EFFECT);
    }
  }

  if (partial.length > 0) fail(r.item, partial.join('; '));
  return [...steps, ...planFips(r, state, links, fail)];
}

/** Per floating IP: its /32 on the gateway interface, a gratuitous ARP, conntrack after a remap. */
function planFips(r: DesiredRouter, state: ObservedRouterNs, links: ReadonlyMap<string, ObservedRouterLink>, fail: Fail): L3Step[] {
  const steps: L3Step[] = [];
  const gw = r.gateway;
  for (const f of r.fips) {
    const link = gw === null ? undefined : links.get(gw.ifname);
    if (gw === null || link === undefined) {
      fail(f.item, `gateway interface ${gw?.ifname ?? '(none)'} not plugged yet`);
      continue;
    }
    // a gratuitous ARP or a conntrack flush: nothing observe reads
    const exec = (why: string, args: string[], tolerate: StepTolerance): void => {
      steps.push({ item: f.item, argv: netnsExecArgv(r.namespace, ...args), why, tolerate, effect: NO_EFFECT });
    };
    const cidr = `${f.floatingIp}/32`;
    // an HA router's floating IPs are keepalived's virtual addresses (it announces them)
    if (r.ha === null && !link.addresses.some((a) => a.cidr === cidr)) {
      const why = `answer ARP for floating IP ${f.floatingIp}`;
      steps.push({ item: f.item, argv: ipArgv(r.namespace, 'addr', 'add', cidr, 'dev', gw.ifname), why, ...withEffect(addressEffect(gw.ifname, cidr, true)) });
      if (r.adminStateUp) exec(`announce ${f.floatingIp} on ${gw.ifname}`, ['arping', '-U', '-c', '1', '-I', gw.ifname, f.floatingIp], 'best-effort');
    }
    const before = state.ruleset?.dnat[f.floatingIp];
    if (before !== undefined && before !== f.fixedIp) {
      exec(`${f.floatingIp} moved from ${before} to ${f.fixedIp}: forget its connections`, ['conntrack', '-D', '-d', f.floatingIp], 'no-flow-entries');
      exec(`${f.floatingIp} moved from ${before} to ${f.fixedIp}: forget connections NATed to it`, ['conntrack', '-D', '-q', f.floatingIp], 'no-flow-entries');
    }
  }
  return steps;
}

/**
 * Validates one router and derives its desired state. Returns why the router is refused as a
 * whole; a bad floating IP only fails its own item.
 */
function buildRouter(
  item: L3Item,
  id: string,
  intent: RouterIntent,
  fipValues: readonly FloatingIpIntent[],
  prefix: string,
  fipOwners: Map<string, string>,
  fail: Fail,
): DesiredRouter | string {
  const namespace = `${prefix}${id.replace(/-/g, '').slice(0, 8)}`;
  if (intent.namespace !== namespace) return `its namespace must be ${namespace}, not ${intent.namespace} (router namespaces are recognised by that name)`;

  const interfaces: DesiredInterface[] = [];
  const ports = new Set<string>();
  const addressOwners = new Map<string, string>();
  for (const i of [...intent.interfaces].sort((a, b) => compare(a.ifname, b.ifname))) {
    const expected = INTERFACE_PREFIX[i.kind];
    if (!i.ifname.startsWith(expected)) return `${i.kind} interface ${i.ifname} must be named ${expected}...`;
    if (interfaces.some((o) => o.ifname === i.ifname)) return `interface ${i.ifname} is listed twice`;
    if (ports.has(i.portId.toLowerCase())) return `port ${i.portId} is listed twice`;
    ports.add(i.portId.toLowerCase());
    const addresses: DesiredAddress[] = [];
    for (const text of i.addresses) {
      const a = parseInterfaceAddress(text);
      if (typeof a === 'string') return `${i.ifname}: ${a}`;
      const ipText = hostPart(a.cidr);
      const owner = addressOwners.get(ipText);
      if (owner !== undefined) return `address ${ipText} is on both ${owner} and ${i.ifname}`;
      addressOwners.set(ipText, i.ifname);
      if (!addresses.some((x) => x.cidr === a.cidr)) addresses.push(a);
    }
    for (const other of interfaces) {
      for (const a of addresses) {
        const overlap = other.addresses.find((b) => cidrsOverlap(a.subnet, b.subnet));
        if (overlap !== undefined) return `the subnets of ${other.ifname} (${formatCidr(overlap.subnet)}) and ${i.ifname} (${formatCidr(a.subnet)}) overlap`;
      }
    }
    interfaces.push({ kind: i.kind, ifname: i.ifname, addresses: addresses.sort((a, b) => compareIpValue(a.ip, b.ip) || compare(a.cidr, b.cidr)) });
  }
  let ha: DesiredHa | null = null;
  if (intent.ha !== undefined && intent.ha !== null) {
    const h = intent.ha;
    const a = parseInterfaceAddress(h.interface.address);
    if (typeof a === 'string') return `${h.interface.ifname}: ${a}`;
    if (a.ip.version !== 4) return `${h.interface.ifname}: the HA address ${a.cidr} must be IPv4 (VRRP runs over IPv4)`;
    if (!h.interface.ifname.startsWith(INTERFACE_PREFIX.ha)) return `HA interface ${h.interface.ifname} must be named ${INTERFACE_PREFIX.ha}...`;
    if (ports.has(h.interface.portId.toLowerCase())) return `port ${h.interface.portId} is listed twice`;
    const owner = addressOwners.get(hostPart(a.cidr));
    if (owner !== undefined) return `address ${hostPart(a.cidr)} is on both ${owner} and ${h.interface.ifname}`;
    ha = { iface: { kind: 'ha', ifname: h.interface.ifname, addresses: [a] }, primaryVip: haPrimaryVip(h.vrid) };
  }
  const gateways = interfaces.filter((i) => i.kind === 'gateway');
  if (gateways.length > 1) return `a router has at most one gateway interface, not ${gateways.map((g) => g.ifname).join(', ')}`;
  const gateway = gateways[0] ?? null;
  const ownAddresses = new Set(addressOwners.keys());

  // Routes: grouped by destination (several nexthops make one ECMP route).
  const byDestination = new Map<string, { family: 4 | 6; destination: string; nexthops: Map<string, DesiredNexthop>; via: Set<string> }>();
  for (const rt of intent.routes) {
    let destination: Cidr;
    try {
      destination = parseCidr(rt.destination, { strict: true });
    } catch (error) {
      return `route ${rt.destination}: ${error instanceof Error ? error.message : String(error)}`;
    }
    const nexthop = parseIp(rt.nexthop);
    const nh = normalizeIp(rt.nexthop);
    if (nexthop.version !== destination.version) return `route ${rt.destination}: nexthop ${nh} is not IPv${destination.version}`;
    if (ownAddresses.has(nh)) return `route ${rt.destination}: nexthop ${nh} is the router's own address`;
    // An IPv6 link-local nexthop (an upstream router known by its fe80:: address, as Neutron's
    // ipv6_gateway) has no subnet of ours: it is reached through the gateway interface.
    const linkLocal = nexthop.version === 6 && cidrContainsIp(LINK_LOCAL_V6, nexthop);
    const through = linkLocal ? gateway : interfaces.find((i) => i.addresses.some((a) => cidrContainsIp(a.subnet, nexthop)));
    if (through === undefined || through === null) {
      return `route ${rt.destination}: nexthop ${nh} is ${linkLocal ? 'link-local and the router has no gateway interface' : 'not on a subnet of the router'}`;
    }
    const key = `${destination.version} ${formatCidr(destination)}`;
    const entry = byDestination.get(key) ?? { family: destination.version, destination: formatCidr(destination), nexthops: new Map(), via: new Set() };
    entry.nexthops.set(nh, { address: nh, dev: linkLocal ? through.ifname : null });
    entry.via.add(through.ifname);
    byDestination.set(key, entry);
  }
  const routes = [...byDestination.values()]
    .map((e) => ({
      family: e.family,
      destination: e.destination,
      nexthops: [...e.nexthops.values()].sort((a, b) => compareIpText(a.address, b.address)),
      via: [...e.via].sort(compare),
    }))
    .sort((a, b) => a.family - b.family || compareCidrText(a.destination, b.destination));

  if (intent.snat.length > 0 && gateway === null) return 'SNAT needs a gateway interface';
  try {
    routerNat({ ...intent, floatingIps: [] });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }

  // Floating IPs, each its own item.
  const internal = interfaces.filter((i) => i.kind === 'internal').flatMap((i) => i.addresses.filter((a) => a.ip.version === 4));
  const fips: DesiredFip[] = [];
  const kept = new Set<string>();
  const floatingSeen = new Map<string, string>();
  const fixedSeen = new Map<string, string>();
  for (const [fipId, group] of groupById(fipValues)) {
    const fItem = fipItem(group.raw);
    const refuse = (message: string): void => {
      fail(fItem, message);
      const floating = group.values[0]?.floatingIp;
      if (typeof floating === 'string' && isValidIp(floating) && parseIp(floating).version === 4) kept.add(`${normalizeIp(floating)}/32`);
    };
    const owner = fipOwners.get(fipId);
    if (owner !== undefined) {
      refuse(`floating IP ${group.raw} is also in the intent of router ${owner}`);
      continue;
    }
    fipOwners.set(fipId, id);
    const f = acceptOne(FloatingIpIntentSchema, group.values, 'floating IP');
    if (typeof f === 'string') {
      refuse(f);
      continue;
    }
    const floatingIp = normalizeIp(f.floatingIp);
    const fixedIp = normalizeIp(f.fixedIp);
    const fixed = parseIp(fixedIp);
    if (parseIp(floatingIp).version !== 4 || fixed.version !== 4) refuse('floating IPs are IPv4 only');
    else if (gateway === null) refuse(`router ${intent.id} has no gateway interface`);
    else if (ownAddresses.has(floatingIp)) refuse(`${floatingIp} is an address of the router itself`);
    else if (!internal.some((a) => cidrContainsIp(a.subnet, fixed))) refuse(`fixed IP ${fixedIp} is not on an internal subnet of router ${intent.id}`);
    else if (floatingSeen.has(floatingIp)) refuse(`${floatingIp} is also floating IP ${floatingSeen.get(floatingIp) ?? ''}`);
    else if (fixedSeen.has(fixedIp)) refuse(`fixed IP ${fixedIp} already has floating IP ${fixedSeen.get(fixedIp) ?? ''}`);
    else {
      floatingSeen.set(floatingIp, group.raw);
      fixedSeen.set(fixedIp, group.raw);
      fips.push({ item: fItem, id: fipId, floatingIp, fixedIp });
    }
  }
  for (const f of fips) kept.delete(`${f.floatingIp}/32`);

  const nat = routerNat({ ...intent, floatingIps: fips.map((f) => ({ id: f.id, floatingIp: f.floatingIp, fixedIp: f.fixedIp })) });
  return { item, id, namespace, adminStateUp: intent.adminStateUp, interfaces, gateway, routes, fips, keptFipAddresses: kept, nat, ha };
}

/**
 * keepalived's primary virtual address of an HA router (Neutron's 169.254.0.<vrid>/24 on the
 * ha- interface): the one address in its VRRP adverts, and the sign that this host is master.
 */
export function haPrimaryVip(vrid: number): string {
  return `169.254.0.${vrid}/24`;
}

/** `172.16.100.1/24` -> the address, its subnet and the canonical text we add and compare. */
function parseInterfaceAddress(text: string): DesiredAddress | string {
  const slash = text.indexOf('/');
  const addr = text.slice(0, slash);
  if (slash < 0 || !isValidIp(addr)) return `${text} is not an address with a prefix length`;
  let subnet: Cidr;
  try {
    subnet = parseCidr(text);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const ip = parseIp(addr);
  return { cidr: `${normalizeIp(addr)}/${subnet.prefixLength}`, ip, subnet };
}

/** The address of a canonical `address/prefixlen`. */
function hostPart(cidr: string): string {
  return cidr.slice(0, cidr.indexOf('/'));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => a[k] === b[k]);
}

function compareIpValue(a: IpAddress, b: IpAddress): number {
  return a.version - b.version || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
}

function compareIpText(a: string, b: string): number {
  return compareIpValue(parseIp(a), parseIp(b));
}

function compareCidrText(a: string, b: string): number {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return compareIpValue({ version: x.version, value: x.network }, { version: y.version, value: y.network }) || x.prefixLength - y.prefixLength;
}
