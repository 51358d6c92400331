import { L2NetworkIntentSchema, L2PortIntentSchema, type L2HostIntent, type L2NetworkIntent, type L2PortIntent } from '@ncp/contracts';
import { isValidIp, parseIp } from '@ncp/netaddr';
import { bridgeArgv, ipArgv } from '../argv.js';
import { acceptedById, compare, formatIssues } from '../intent-groups.js';
import { DataplaneError } from '../errors.js';
import { assertIp, assertMac, bridgeName, ownerAlias, parseOwnerAlias, tapName, vlanName, vxlanName } from '../names.js';
import { type Plan, type PlanItemError } from '../steps.js';
import { perObject } from '../memo.js';
import { L2HostConfigSchema, type L2HostConfig } from './model.js';
import { type ObservedFdbEntry, type ObservedL2, type ObservedLink } from './observed.js';

/** What a step belongs to: failures are reported, and stop further steps, per item. */
export type L2Item = `network:${string}` | `port:${string}` | 'sweep';

/** One command of the plan. `argv` is run as is with execFile; `why` says what differed. */
export interface Step {
  readonly item: L2Item;
  readonly argv: readonly string[];
  readonly why: string;
}

/** An item the planner refused (bad intent, missing physnet, name clash...): it gets no steps. */
export type ItemError = PlanItemError<L2Item>;

/** Steps: sweep first, then networks by id, then ports by id; each item's steps in order. */
export type L2Plan = Plan<Step, L2Item>;

/**
 * What a port's plan looked at when it found nothing to do on either end: its entry and its
 * network's (as parsed: the same objects while the agent's frozen entries are), its host link
 * and its workload namespace's links (the same objects while nothing read them again). Handed
 * the same objects again, its plan is nothing again, and is not made.
 */
export interface SettledPort {
  readonly entry: L2PortIntent;
  readonly network: L2NetworkIntent;
  readonly tap: ObservedLink;
  readonly workloadLinks: readonly ObservedLink[];
}

/** A plan, with the ports it found settled (by id), for the next plan to start from. */
export interface L2PlanWithSettled extends L2Plan {
  readonly settled: ReadonlyMap<string, SettledPort>;
}

export const VXLAN_UDP_PORT = 4789;
const ZERO_MAC = '00:00:00:00:00:00';
/** What Linux gives a new bridge (ETH_DATA_LEN). */
const DEFAULT_MTU = 1500;

export const networkItem = (id: string): L2Item => `network:${id}`;
export const portItem = (id: string): L2Item => `port:${id}`;

/** The link state we compare and fix with one `ip link set`. */
interface LinkState {
  readonly master: string | null;
  readonly mtu: number;
  readonly up: boolean;
  readonly address: string | null;
}

interface LinkWant {
  readonly master?: string | null;
  readonly mtu?: number;
  readonly up?: boolean;
  readonly address?: string;
}

/** A network that passed validation, with everything derived from it. */
interface DesiredNetwork {
  readonly item: L2Item;
  readonly id: string;
  readonly intent: L2NetworkIntent;
  readonly bridge: string;
  readonly vxlan: string | null;
  readonly vlan: string | null;
  /** the physnet interface: enslaved itself (flat) or the parent of the vlan subinterface */
  readonly physIface: string | null;
  readonly flood: readonly string[];
  readonly remoteMacs: ReadonlyMap<string, string>;
}

interface DesiredPort {
  readonly item: L2Item;
  readonly id: string;
  readonly intent: L2PortIntent;
  readonly network: DesiredNetwork;
  readonly tap: string;
  readonly mac: string;
  /** its links' alias */
  readonly alias: string;
}

/**
 * What a port's plan derives from its valid entry alone, made once per entry object: a
 * frozen entry's is the same object from pass to pass (see parseOnce), and deriving these for
 * each of a host's thousands of ports on every pass was a good part of a plan's cost.
 */
const portNames = perObject((port: L2PortIntent) => {
  const id = port.id.toLowerCase();
  const tap = tapName(id);
  const alias = ownerAlias('port', id);
  return {
    netId: port.networkId.toLowerCase(),
    tap,
    workloadKey: `${port.workload.netns}/${port.workload.ifname}`,
    mac: assertMac(port.mac),
    alias,
  };
});

/**
 * The heart of the L2 driver: compares the intent with what the kernel has and returns the
 * minimal commands that make them equal. Pure (no I/O, no clock), deterministic (inputs are
 * sorted, so the order of networks, ports, flood lists and MACs does not matter), and empty
 * when the host already matches, so a resync never disturbs working ports.
 *
 * Ownership comes only from link aliases (`ncp:<tag>:<id>`): links without ours are never
 * changed, except physnet interfaces, which are enslaved to / released from our bridges.
 *
 * `settled`, the last plan's (see `SettledPort`), spares it the ports that still look at the
 * very objects they found nothing to do with: at thousands of ports on a host, planning each of
 * them again, whatever the pass changed, was a good part of a pass's planning. The plan is the
 * one made without it.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` when the host config is invalid (an
 *   operator error that no item can work around).
 */
export function planL2(
  intent: L2HostIntent,
  config: L2HostConfig,
  observed: ObservedL2,
  settled: ReadonlyMap<string, SettledPort> = new Map(),
): L2PlanWithSettled {
  const cfg = parseConfig(config);
  const host = cfg.netns;
  const errors = new Map<L2Item, string>();
  const fail = (item: L2Item, message: string): void => {
    if (!errors.has(item)) errors.set(item, message);
  };
  const hostLinks = new Map(observed.hostLinks.map((l) => [l.name, l]));
  const physIfaces = new Set(Object.values(cfg.physnets));
  // the physnet interfaces that exist, in name order: each network looks for the ones left in its bridge
  const physLinks = observed.hostLinks.filter((l) => physIfaces.has(l.name)).sort((a, b) => compare(a.name, b.name));

  // --- Desired objects -------------------------------------------------------------------
  const intentNetworkIds = new Set(intent.networks.map((n) => n.id.toLowerCase()));
  const networks = new Map<string, DesiredNetwork>();
  const bridgeOwners = new Map<string, string>();
  const flatIfaces = new Map<string, string>();
  const vlanKeys = new Map<string, string>();
  for (const [id, item, net] of acceptedById(intent.networks, L2NetworkIntentSchema, 'network', networkItem, fail)) {
    const built = buildNetwork(item, id, net, cfg, hostLinks);
    if (typeof built === 'string') {
      fail(item, built);
      continue;
    }
    const clash = bridgeOwners.get(built.bridge);
    if (clash !== undefined) {
      fail(item, `its link names (${built.bridge}) clash with network ${clash}: the first 8 hex digits of the ids are equal`);
      continue;
    }
    const { segment } = net;
    if (built.physIface !== null && segment.networkType === 'flat') {
      const other = flatIfaces.get(built.physIface);
      if (other !== undefined) {
        fail(item, `physical network '${segment.physicalNetwork ?? ''}' (${built.physIface}) already carries flat network ${other}`);
        continue;
      }
      flatIfaces.set(built.physIface, id);
    }
    if (built.physIface !== null && segment.networkType === 'vlan') {
      const key = `${built.physIface}.${String(segment.segmentationId)}`;
      const other = vlanKeys.get(key);
      if (other !== undefined) {
        fail(item, `VLAN ${String(segment.segmentationId)} on ${built.physIface} is already used by network ${other}`);
        continue;
      }
      vlanKeys.set(key, id);
    }
    bridgeOwners.set(built.bridge, id);
    networks.set(id, built);
  }

  const ports = new Map<string, DesiredPort>();
  const tapOwners = new Map<string, string>();
  const workloadOwners = new Map<string, string>();
  for (const [id, item, port] of acceptedById(intent.ports, L2PortIntentSchema, 'port', portItem, fail)) {
    const { netId, tap, workloadKey, mac, alias } = portNames(port);
    const network = networks.get(netId);
    if (network === undefined) {
      fail(
        item,
        intentNetworkIds.has(netId)
          ? `network ${port.networkId} is in error on this host, so the port cannot be plugged`
          : `network ${port.networkId} is not in this host's intent`,
      );
      continue;
    }
    if (port.workload.netns === host) {
      fail(item, `the workload namespace must not be the host namespace ${host}`);
      continue;
    }
    const tapClash = tapOwners.get(tap);
    const workloadClash = workloadOwners.get(workloadKey);
    if (tapClash !== undefined || workloadClash !== undefined) {
      fail(
        item,
        tapClash !== undefined
          ? `its host interface name ${tap} clashes with port ${tapClash}`
          : `${workloadKey} is already the interface of port ${workloadClash ?? ''}`,
      );
      continue;
    }
    tapOwners.set(tap, id);
    workloadOwners.set(workloadKey, id);
    ports.set(id, { item, id, intent: port, network, tap, mac, alias });
  }

  // --- Mark and sweep ----------------------------------------------------------------------
  // Keep: the exact (name, alias) pairs we want, and every link of an item that is in the
  // intent but in error (a bad update must not tear down what works). Sweep: our other links.
  // (The names we want are unique: the clashes above refused the items that shared one.)
  const keep = new Map<string, string>();
  for (const n of networks.values()) {
    keep.set(n.bridge, ownerAlias('net', n.id));
    if (n.vxlan !== null) keep.set(n.vxlan, ownerAlias('vx', n.id));
    if (n.vlan !== null) keep.set(n.vlan, ownerAlias('vlan', n.id));
  }
  for (const p of ports.values()) keep.set(p.tap, p.alias);
  let intentPortIds: ReadonlySet<string> | undefined;
  const swept = observed.hostLinks.filter((link) => {
    if (link.alias === null || keep.get(link.name) === link.alias) return false;
    const owner = parseOwnerAlias(link.alias);
    if (owner === null) return false;
    intentPortIds ??= new Set(intent.ports.map((p) => p.id.toLowerCase()));
    const inError = owner.tag === 'port' ? intentPortIds.has(owner.id) && !ports.has(owner.id) : intentNetworkIds.has(owner.id) && !networks.has(owner.id);
    return !inError;
  });
  const sweptNames = new Set(swept.map((l) => l.name));
  const deletedAliases = new Set(swept.map((l) => l.alias));

  const sweepSteps: Step[] = [];
  const byTag = (tags: readonly string[]): ObservedLink[] =>
    swept.filter((l) => tags.includes(parseOwnerAlias(l.alias)?.tag ?? '')).sort((a, b) => compare(a.name, b.name));
  // Ports first (deleting the host end of a veth deletes the workload end), then the devices
  // enslaved to bridges, then the bridges, after releasing interfaces that are not ours.
  for (const l of [...byTag(['port']), ...byTag(['vx', 'vlan'])]) {
    sweepSteps.push({ item: 'sweep', argv: ipArgv(host, 'link', 'del', 'dev', l.name), why: `${l.name} (${l.alias ?? ''}) is no longer wanted` });
  }
  for (const l of byTag(['net'])) {
    // Deleting a bridge releases its ports anyway; saying it for physnet NICs documents that
    // they are released, not deleted. Other links (another driver's) are left to the kernel.
    for (const slave of observed.hostLinks.filter((s) => s.master === l.name && physIfaces.has(s.name) && parseOwnerAlias(s.alias) === null)) {
      sweepSteps.push({
        item: 'sweep',
        argv: ipArgv(host, 'link', 'set', 'dev', slave.name, 'nomaster'),
        why: `release physical interface ${slave.name} from ${l.name} before deleting the bridge`,
      });
    }
    sweepSteps.push({ item: 'sweep', argv: ipArgv(host, 'link', 'del', 'dev', l.name), why: `${l.name} (${l.alias ?? ''}) is no longer wanted` });
  }

  /**
   * Who holds a name we want: nobody (or a link about to be swept), us, or someone else.
   * A link with our exact name and no alias at all is ours too: an agent killed between
   * `link add` and `link set alias` leaves one, and the name (prefix + id) is our marker
   * as well. It is adopted: marked, then treated like any other of ours.
   */
  const adoptions: Step[] = [];
  const claim = (name: string, alias: string): ObservedLink | null | string => {
    const link = hostLinks.get(name);
    if (link === undefined || sweptNames.has(name)) return null;
    if (link.alias === alias) return link;
    const owner = parseOwnerAlias(alias);
    if ((link.alias === null || link.alias === '') && owner !== null) {
      const item = owner.tag === 'port' ? portItem(owner.id) : networkItem(owner.id);
      adoptions.push({ item, argv: ipArgv(host, 'link', 'set', 'dev', name, 'alias', alias), why: `adopt ${name}: ours by name, left unmarked` });
      return { ...link, alias };
    }
    return parseOwnerAlias(link.alias) === null
      ? `${name} exists in the host namespace but is not ours (alias ${JSON.stringify(link.alias)}); not touching it`
      : `${name} exists but belongs to ${link.alias ?? ''}`;
  };

  // --- Networks ----------------------------------------------------------------------------
  const networkSteps: Step[] = [];
  for (const n of networks.values()) {
    const steps = planNetwork(n, host, cfg, observed, hostLinks, physLinks, claim);
    if (typeof steps === 'string') fail(n.item, steps);
    else networkSteps.push(...steps);
  }

  // --- Ports -------------------------------------------------------------------------------
  const portSteps: Step[] = [];
  // Namespaces shared by several ports are created (and their lo set up) by the first one only.
  const nsDone = new Set<string>();
  // a set: each port looks its namespace up, and a host has a namespace per workload
  const netns = new Set(observed.netns);
  const nowSettled = new Map<string, SettledPort>();
  for (const p of ports.values()) {
    if (errors.has(p.network.item)) {
      fail(p.item, `network ${p.network.id} is in error on this host, so the port cannot be plugged`);
      continue;
    }
    const wns = p.intent.workload.netns;
    const looked = { entry: p.intent, network: p.network.intent, tap: hostLinks.get(p.tap), workloadLinks: observed.workloadLinks[wns] };
    const before = settled.get(p.id);
    if (before !== undefined && sameObjects(before, looked) && netns.has(wns) && !sweptNames.has(p.tap)) {
      nowSettled.set(p.id, before);
      nsDone.add(wns);
      continue;
    }
    const steps = planPort(p, host, observed, netns, claim, deletedAliases, nsDone);
    if (typeof steps === 'string') {
      fail(p.item, steps);
      continue;
    }
    portSteps.push(...steps);
    const { tap, workloadLinks } = looked;
    // Settled on its own only (an adopted host end, or a loopback left to another port of its namespace, is not).
    if (steps.length === 0 && tap?.alias === p.alias && workloadLinks?.some((l) => l.name === 'lo' && l.up) === true) {
      nowSettled.set(p.id, { ...looked, tap, workloadLinks });
    }
  }

  const adopted = adoptions.filter((a) => !errors.has(a.item));
  return {
    steps: [...sweepSteps, ...adopted, ...networkSteps, ...portSteps],
    errors: [...errors].map(([item, error]) => ({ item, error })).sort((a, b) => compare(a.item, b.item)),
    settled: nowSettled,
  };
}

function sameObjects(a: SettledPort, b: { [K in keyof SettledPort]: SettledPort[K] | undefined }): boolean {
  return a.entry === b.entry && a.network === b.network && a.tap === b.tap && a.workloadLinks === b.workloadLinks;
}

type Claim = (name: string, alias: string) => ObservedLink | null | string;

function planNetwork(
  n: DesiredNetwork,
  host: string | null,
  cfg: L2HostConfig,
  observed: ObservedL2,
  hostLinks: ReadonlyMap<string, ObservedLink>,
  physLinks: readonly ObservedLink[],
  claim: Claim,
): Step[] | string {
  const { item } = n;
  const mtu = n.intent.mtu;
  const steps: Step[] = [];
  const ip = (why: string, ...args: string[]): void => {
    steps.push({ item, argv: ipArgv(host, ...args), why });
  };

  // Bridge: the MTU is set after creation, not with `link add`: the kernel only pins a bridge's
  // MTU once it was set by `ip link set` (else it follows its smallest port, e.g. a 1500-byte
  // physnet NIC would pull a 1450 bridge up to 1500 and the next resync would fix it again).
  const brAlias = ownerAlias('net', n.id);
  const br = claim(n.bridge, brAlias);
  if (typeof br === 'string') return br;
  let brState: LinkState;
  if (br !== null && br.kind === 'bridge') {
    brState = br;
  } else {
    if (br !== null) ip(`${n.bridge} is ours but a ${br.kind ?? 'plain link'}, not a bridge`, 'link', 'del', 'dev', n.bridge);
    ip(`create the bridge of network ${n.id}`, 'link', 'add', n.bridge, 'type', 'bridge');
    ip('mark it ours', 'link', 'set', 'dev', n.bridge, 'alias', brAlias);
    brState = fresh(DEFAULT_MTU);
  }
  pushDefined(steps, linkSet(item, host, n.bridge, brState, { mtu, up: true }));

  // VXLAN: vni/local/port/learning cannot be changed in place, so a mismatch means recreate.
  if (n.vxlan !== null) {
    const vni = n.intent.segment.segmentationId ?? 0;
    const vxAlias = ownerAlias('vx', n.id);
    const vx = claim(n.vxlan, vxAlias);
    if (typeof vx === 'string') return vx;
    let vxState: LinkState;
    let fdb: readonly ObservedFdbEntry[];
    const mismatch = vx === null ? null : vxlanMismatch(vx, vni, cfg.tunnelIp);
    if (vx !== null && mismatch === '') {
      vxState = vx;
      fdb = observed.fdb[n.vxlan] ?? [];
    } else {
      if (vx !== null) ip(`${n.vxlan} differs (${mismatch ?? ''}): recreate`, 'link', 'del', 'dev', n.vxlan);
      ip(
        `create the VXLAN device of network ${n.id}`,
        'link',
        'add',
        n.vxlan,
        'mtu',
        String(mtu),
        'type',
        'vxlan',
        'id',
        String(vni),
        'local',
        cfg.tunnelIp,
        'dstport',
        String(VXLAN_UDP_PORT),
        'nolearning',
      );
      ip('mark it ours', 'link', 'set', 'dev', n.vxlan, 'alias', vxAlias);
      vxState = fresh(mtu);
      fdb = [];
    }
    pushDefined(steps, linkSet(item, host, n.vxlan, vxState, { master: n.bridge, mtu, up: true }));
    steps.push(...planFdb(item, host, n, fdb));
  }

  // VLAN: an 802.1Q subinterface of the physnet interface; id and parent are fixed at creation.
  if (n.vlan !== null && n.physIface !== null) {
    const vid = n.intent.segment.segmentationId ?? 0;
    const vlAlias = ownerAlias('vlan', n.id);
    const vl = claim(n.vlan, vlAlias);
    if (typeof vl === 'string') return vl;
    let vlState: LinkState;
    if (vl !== null && vl.kind === 'vlan' && vl.vlanId === vid && vl.parent === n.physIface) {
      vlState = vl;
    } else {
      if (vl !== null) {
        ip(`${n.vlan} differs (vlan ${String(vl.vlanId)} on ${vl.parent ?? '?'}): recreate`, 'link', 'del', 'dev', n.vlan);
      }
      ip(
        `create the VLAN ${vid} subinterface of ${n.physIface} for network ${n.id}`,
        'link',
        'add',
        'link',
        n.physIface,
        'name',
        n.vlan,
        'mtu',
        String(mtu),
        'type',
        'vlan',
        'id',
        String(vid),
      );
      ip('mark it ours', 'link', 'set', 'dev', n.vlan, 'alias', vlAlias);
      vlState = fresh(mtu);
    }
    pushDefined(steps, linkSet(item, host, n.vlan, vlState, { master: n.bridge, mtu, up: true }));
  }

  // Flat: the physnet interface itself goes into the bridge. It is not ours: only its master
  // is changed, never its MTU, state or existence.
  if (n.intent.segment.networkType === 'flat' && n.physIface !== null) {
    const phys = hostLinks.get(n.physIface);
    if (phys !== undefined) pushDefined(steps, linkSet(item, host, n.physIface, phys, { master: n.bridge }, 'enslave physical interface'));
  }
  // A physnet interface left in this bridge by an older mapping is released.
  for (const l of physLinks) {
    if (l.master === n.bridge && l.name !== n.physIface && parseOwnerAlias(l.alias) === null) {
      ip(`${l.name} is no longer the physical interface of network ${n.id}`, 'link', 'set', 'dev', l.name, 'nomaster');
    }
  }
  return steps;
}

/** Head-end replication (all-zero entries, one per remote host) and static remote MACs. */
function planFdb(item: L2Item, host: string | null, n: DesiredNetwork, observed: readonly ObservedFdbEntry[]): Step[] {
  const dev = n.vxlan ?? '';
  const current = observed
    .filter((e) => isValidIp(e.dst))
    .map((e) => ({ mac: e.mac.toLowerCase(), dst: assertIp(e.dst) }))
    .sort((a, b) => compare(a.mac, b.mac) || compare(a.dst, b.dst));
  const has = (mac: string, dst: string): boolean => current.some((e) => e.mac === mac && e.dst === dst);
  const steps: Step[] = [];
  const fdb = (why: string, verb: string, mac: string, dst: string): void => {
    steps.push({ item, argv: bridgeArgv(host, 'fdb', verb, mac, 'dev', dev, 'dst', dst), why });
  };
  // Removals first: a MAC that moved to another host is deleted at its old remote, then added.
  for (const e of current) {
    if (e.mac === ZERO_MAC) {
      if (!n.flood.includes(e.dst)) fdb(`${e.dst} no longer has network ${n.id}`, 'del', e.mac, e.dst);
    } else if (n.remoteMacs.get(e.mac) !== e.dst) {
      fdb(`${e.mac} is no longer behind ${e.dst}`, 'del', e.mac, e.dst);
    }
  }
  for (const dst of n.flood) {
    if (!has(ZERO_MAC, dst)) fdb(`flood BUM traffic to ${dst}`, 'append', ZERO_MAC, dst);
  }
  for (const [mac, dst] of n.remoteMacs) {
    if (!has(mac, dst)) fdb(`${mac} is behind ${dst}`, 'replace', mac, dst);
  }
  return steps;
}

function planPort(
  p: DesiredPort,
  host: string | null,
  observed: ObservedL2,
  netns: ReadonlySet<string>,
  claim: Claim,
  deletedAliases: ReadonlySet<string | null>,
  nsDone: Set<string>,
): Step[] | string {
  const { item, tap, mac } = p;
  const { netns: wns, ifname } = p.intent.workload;
  const mtu = p.network.intent.mtu;
  const { alias } = p;
  const workloadLinks = observed.workloadLinks[wns] ?? [];
  const peer = workloadLinks.find((l) => l.name === ifname);
  // The host's steps first, then the workload end's: neither end's changes need the other's,
  // and an apply can then send each namespace's steps together (see applyL2).
  const hostSteps: Step[] = [];
  const workloadSteps: Step[] = [];
  const step = (ns: string | null, why: string, ...args: string[]): void => {
    (ns === wns ? workloadSteps : hostSteps).push({ item, argv: ipArgv(ns, ...args), why });
  };

  const current = claim(tap, alias);
  if (typeof current === 'string') return current;
  let tapState: LinkState;
  let peerState: LinkState;
  // The workload end may have missed its alias the same way (killed between the two marks).
  const peerOurs = peer !== undefined && (peer.alias === alias || ((peer.alias === null || peer.alias === '') && peer.kind === 'veth'));
  if (current !== null && current.kind === 'veth' && peer !== undefined && peerOurs) {
    if (peer.alias !== alias) step(wns, `adopt ${wns}/${ifname}: the workload end of ${tap}, left unmarked`, 'link', 'set', 'dev', ifname, 'alias', alias);
    tapState = current;
    peerState = peer;
  } else {
    if (current !== null) {
      step(host, `the workload end of ${tap} is not ${wns}/${ifname}: recreate the pair`, 'link', 'del', 'dev', tap);
    }
    // The workload name must be free, or held by a veth end that a deletion above removes.
    const peerGoes = peer !== undefined && (deletedAliases.has(peer.alias) || (peer.alias === alias && current !== null));
    if (peer !== undefined && !peerGoes) {
      return `${ifname} already exists in namespace ${wns} (alias ${JSON.stringify(peer.alias)}); not touching it`;
    }
    if (!netns.has(wns) && !nsDone.has(wns)) step(null, `create the workload namespace ${wns}`, 'netns', 'add', wns);
    step(
      host,
      `create the veth pair of port ${p.id}`,
      'link',
      'add',
      tap,
      'mtu',
      String(mtu),
      'type',
      'veth',
      'peer',
      'name',
      ifname,
      'address',
      mac,
      'mtu',
      String(mtu),
      'netns',
      wns,
    );
    step(host, 'mark it ours', 'link', 'set', 'dev', tap, 'alias', alias);
    step(wns, 'mark the workload end ours', 'link', 'set', 'dev', ifname, 'alias', alias);
    tapState = fresh(mtu);
    peerState = { ...fresh(mtu), address: mac };
  }
  pushDefined(hostSteps, linkSet(item, host, tap, tapState, { master: p.network.bridge, mtu, up: p.intent.adminStateUp }, 'host end'));
  pushDefined(workloadSteps, linkSet(item, wns, ifname, peerState, { address: mac, mtu, up: true }, 'workload end'));
  const lo = netns.has(wns) ? workloadLinks.find((l) => l.name === 'lo') : undefined;
  if ((lo === undefined || !lo.up) && !nsDone.has(wns)) step(wns, `loopback of ${wns} up`, 'link', 'set', 'dev', 'lo', 'up');
  nsDone.add(wns);
  return [...hostSteps, ...workloadSteps];
}

/** One `ip link set` with only the attributes that differ, or nothing. */
function linkSet(item: L2Item, ns: string | null, name: string, current: LinkState, want: LinkWant, what = name): Step | null {
  const args: string[] = [];
  const why: string[] = [];
  if (want.address !== undefined && current.address !== want.address) {
    args.push('address', want.address);
    why.push(`address ${current.address ?? 'none'} -> ${want.address}`);
  }
  if (want.mtu !== undefined && current.mtu !== want.mtu) {
    args.push('mtu', String(want.mtu));
    why.push(`mtu ${current.mtu} -> ${want.mtu}`);
  }
  if (want.master !== undefined && current.master !== want.master) {
    args.push(...(want.master === null ? ['nomaster'] : ['master', want.master]));
    why.push(`master ${current.master ?? 'none'} -> ${want.master ?? 'none'}`);
  }
  if (want.up !== undefined && current.up !== want.up) {
    args.push(want.up ? 'up' : 'down');
    why.push(want.up ? 'down -> up' : 'up -> down');
  }
  if (args.length === 0) return null;
  return { item, argv: ipArgv(ns, 'link', 'set', 'dev', name, ...args), why: `${what}: ${why.join(', ')}` };
}

/** The state of a link right after our `ip link add` (which always passes the MTU). */
function fresh(mtu: number): LinkState {
  return { master: null, mtu, up: false, address: null };
}

function pushDefined(steps: Step[], step: Step | null): void {
  if (step !== null) steps.push(step);
}

/** '' when the device is the VXLAN we want, else what differs. */
function vxlanMismatch(link: ObservedLink, vni: number, local: string): string {
  if (link.kind !== 'vxlan' || link.vxlan === null) return `a ${link.kind ?? 'plain link'}, not vxlan`;
  const v = link.vxlan;
  const diffs: string[] = [];
  if (v.vni !== vni) diffs.push(`vni ${v.vni} -> ${vni}`);
  const observedLocal = v.local !== null && isValidIp(v.local) ? assertIp(v.local) : v.local;
  if (observedLocal !== local) diffs.push(`local ${v.local ?? 'none'} -> ${local}`);
  if (v.port !== VXLAN_UDP_PORT) diffs.push(`dstport ${String(v.port)} -> ${VXLAN_UDP_PORT}`);
  if (v.learning) diffs.push('learning on -> off');
  return diffs.join(', ');
}

function buildNetwork(
  item: L2Item,
  id: string,
  net: L2NetworkIntent,
  cfg: L2HostConfig,
  hostLinks: ReadonlyMap<string, ObservedLink>,
): DesiredNetwork | string {
  const { networkType, physicalNetwork } = net.segment;
  let physIface: string | null = null;
  if (networkType === 'flat' || networkType === 'vlan') {
    const name = physicalNetwork ?? '';
    const iface = cfg.physnets[name];
    if (iface === undefined) {
      const known = Object.keys(cfg.physnets).sort().join(', ') || 'none';
      return `no interface is mapped for physical network '${name}' on this host (mapped: ${known})`;
    }
    const link = hostLinks.get(iface);
    if (link === undefined) return `interface ${iface} of physical network '${name}' does not exist in the host namespace`;
    if (parseOwnerAlias(link.alias) !== null) return `interface ${iface} of physical network '${name}' is one of our own links (${link.alias ?? ''})`;
    physIface = iface;
  }

  let flood: string[] = [];
  const remoteMacs = new Map<string, string>();
  if (networkType === 'vxlan') {
    // Head-end replication must use the underlay family of our own tunnel address; an entry
    // for ourselves would send our own floods back to us.
    const family = parseIp(cfg.tunnelIp).version;
    const remotes = [...net.floodList, ...net.remoteMacs.map((r) => r.tunnelIp)].map(assertIp);
    const wrong = remotes.find((r) => parseIp(r).version !== family);
    if (wrong !== undefined) return `tunnel address ${wrong} is not IPv${family} like this host's ${cfg.tunnelIp}`;
    flood = [...new Set(net.floodList.map(assertIp))].filter((ip) => ip !== cfg.tunnelIp).sort(compare);
    for (const r of [...net.remoteMacs].sort((a, b) => compare(assertMac(a.mac), assertMac(b.mac)))) {
      const mac = assertMac(r.mac);
      const dst = assertIp(r.tunnelIp);
      const other = remoteMacs.get(mac);
      if (other !== undefined && other !== dst) return `remote MAC ${mac} is listed behind both ${other} and ${dst}`;
      if (mac === ZERO_MAC) return 'remote MAC 00:00:00:00:00:00 is reserved for flooding';
      remoteMacs.set(mac, dst);
    }
  }
  return {
    item,
    id,
    intent: net,
    bridge: bridgeName(id),
    vxlan: networkType === 'vxlan' ? vxlanName(id) : null,
    vlan: networkType === 'vlan' ? vlanName(id) : null,
    physIface,
    flood,
    remoteMacs: new Map([...remoteMacs].sort(([a], [b]) => compare(a, b))),
  };
}

function parseConfig(config: L2HostConfig): L2HostConfig {
  const result = L2HostConfigSchema.safeParse(config);
  if (!result.success) throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `invalid L2 host config: ${formatIssues(result.error)}`);
  return { ...result.data, tunnelIp: assertIp(result.data.tunnelIp) };
}
