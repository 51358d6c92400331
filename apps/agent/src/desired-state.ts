import {
  BgpSpeakerIntentSchema,
  DESIRED_KINDS,
  DHCP_NAMESPACE_PREFIX,
  ROUTER_NAMESPACE_PREFIX,
  DhcpServerIntentSchema,
  L2NetworkIntentSchema,
  L2PortIntentSchema,
  MetadataProxyIntentSchema,
  RaIntentSchema,
  RouterIntentSchema,
  SgGroupIntentSchema,
  SgMembersIntentSchema,
  SgPortIntentSchema,
  parseDesiredKey,
  type BgpSpeakerIntent,
  type DesiredKind,
  type DhcpServerIntent,
  type L2HostIntent,
  type MetadataProxyIntent,
  type RaIntent,
  type RouterIntent,
  type SgHostIntent,
} from '@ncp/contracts';
import { rememberValid } from '@ncp/dataplane';
import { type z } from 'zod';

export interface InvalidEntry {
  key: string;
  error: string;
}

/**
 * The name this host gives a namespace the desired state names: the services name router and
 * DHCP namespaces after their ids (`qrouter-<8>`, `qdhcp-<8>`), the same on every host; with a
 * prefix, several agents on one machine (test scenarios with two network nodes holding the
 * same HA router) keep theirs apart. Other names (workloads' namespaces) are the host's own.
 */
export function localNetns(netnsPrefix: string, name: string): string {
  if (netnsPrefix === '' || !(name.startsWith(ROUTER_NAMESPACE_PREFIX) || name.startsWith(DHCP_NAMESPACE_PREFIX))) return name;
  return `${netnsPrefix}${name}`;
}

/** Freezes a parsed entry throughout: every pass shares it, so a driver that changed it would change the next pass' intent. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value;
}

/** A KV entry's value, and once asked for, what it parses into (each kind has its own schema). */
interface DesiredEntry {
  readonly value: string;
  parsed?: { readonly intent: unknown } | { readonly error: string };
}

function parseEntry<T extends object>(schema: z.ZodType<T>, value: string): { readonly intent: T } | { readonly error: string } {
  try {
    const intent = frozen(schema.parse(JSON.parse(value)));
    // the drivers validate what they are given: this entry they need not check again
    rememberValid(schema, intent);
    return { intent };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A kind's entries, and its list as last made with the entries it was made from. */
interface KindEntries {
  readonly entries: Map<string, DesiredEntry>;
  parsed?: { readonly intents: unknown[]; invalid: InvalidEntry[] };
  /** keys changed since the list was made, each with its entry then (undefined: it had none) */
  readonly listed: Map<string, DesiredEntry | undefined>;
}

/** A kind's list is patched while fewer than one entry in this many changed since it was made; else made again. */
const PATCHED_AT_MOST = 8;

/** The first index whose intent does not sort before `sortKey` (or after it, with `after`). */
function searchSorted(list: readonly unknown[], sortKey: string, key: (intent: unknown) => string, after: boolean): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const order = compareText(key(list[mid]), sortKey);
    if (order < 0 || (after && order === 0)) low = mid + 1;
    else high = mid;
  }
  return low;
}

function insertSorted(list: unknown[], intent: unknown, key: (intent: unknown) => string): void {
  list.splice(searchSorted(list, key(intent), key, true), 0, intent);
}

function removeSorted(list: unknown[], intent: unknown, key: (intent: unknown) => string): void {
  const sortKey = key(intent);
  for (let i = searchSorted(list, sortKey, key, false); i < list.length && key(list[i]) === sortKey; i++) {
    if (list[i] === intent) {
      list.splice(i, 1);
      return;
    }
  }
}

/**
 * This host's desired state as the KV bucket holds it (key -> JSON), turned into the
 * intent the drivers take, with the namespaces named as this host names them
 * ({@link localNetns}). Entries that do not parse are reported, not applied.
 */
export class DesiredState {
  /**
   * The entries by kind, each entry parsed once: a pass asks for every kind its drivers read,
   * and parsing a host's thousands of entries again for each was a good part of a pass's own
   * cost. A changed entry is parsed again, alone, and its kind's sorted list is patched with it
   * (made again whole when many changed).
   */
  private readonly kinds = new Map<string, KindEntries>();

  constructor(private readonly netnsPrefix = '') {}

  /**
   * Each parsed intent's copy with this host's namespace names, made once and frozen like it:
   * a pass gets the same objects as the last one for what did not change, which the drivers'
   * caches (validation, JSON, rendered pieces) are keyed by.
   */
  private readonly localCopies = new WeakMap<object, object>();

  private localOnce<T extends object>(intent: T, make: (intent: T) => T): T {
    let copy = this.localCopies.get(intent) as T | undefined;
    if (copy === undefined) this.localCopies.set(intent, (copy = frozen(make(intent))));
    return copy;
  }

  private local<T extends { namespace: string }>(intent: T): T {
    if (localNetns(this.netnsPrefix, intent.namespace) === intent.namespace) return intent;
    return this.localOnce(intent, (i) => ({ ...i, namespace: localNetns(this.netnsPrefix, i.namespace) }));
  }

  private kindOf(key: string): KindEntries {
    const kind = parseDesiredKey(key)?.kind ?? '';
    let entries = this.kinds.get(kind);
    if (entries === undefined) this.kinds.set(kind, (entries = { entries: new Map(), listed: new Map() }));
    return entries;
  }

  /** False when the key already held this value: nothing changed. */
  put(key: string, value: string): boolean {
    const kind = this.kindOf(key);
    const was = kind.entries.get(key);
    if (was?.value === value) return false;
    if (kind.parsed !== undefined && !kind.listed.has(key)) kind.listed.set(key, was);
    kind.entries.set(key, { value });
    return true;
  }

  /** False when there was no such key. */
  delete(key: string): boolean {
    const kind = this.kindOf(key);
    const was = kind.entries.get(key);
    if (was === undefined) return false;
    if (kind.parsed !== undefined && !kind.listed.has(key)) kind.listed.set(key, was);
    kind.entries.delete(key);
    return true;
  }

  get size(): number {
    let n = 0;
    for (const kind of this.kinds.values()) n += kind.entries.size;
    return n;
  }

  /** How many entries of one kind there are, valid or not. */
  count(kind: DesiredKind): number {
    return this.kinds.get(kind)?.entries.size ?? 0;
  }

  /** Every entry of one kind, parsed, sorted by `sortKey` (each kind is complete: drivers sweep what it omits). */
  private intentsOf<T extends object>(kind: DesiredKind, schema: z.ZodType<T>, sortKey: (t: T) => string): { intents: T[]; invalid: InvalidEntry[] } {
    const entries = this.kinds.get(kind);
    if (entries === undefined) return { intents: [], invalid: [] };
    const parse = (entry: DesiredEntry) => (entry.parsed ??= parseEntry(schema, entry.value));
    // each kind is only ever parsed with its own schema
    const key = sortKey as (intent: unknown) => string;
    if (entries.parsed !== undefined && entries.listed.size * PATCHED_AT_MOST > entries.entries.size) entries.parsed = undefined;
    if (entries.parsed === undefined) {
      const intents: unknown[] = [];
      const invalid: InvalidEntry[] = [];
      for (const [k, entry] of entries.entries) {
        const parsed = parse(entry);
        if ('intent' in parsed) intents.push(parsed.intent);
        else invalid.push({ key: k, error: parsed.error });
      }
      entries.parsed = { intents: intents.sort((a, b) => compareText(key(a), key(b))), invalid };
    } else {
      const { intents } = entries.parsed;
      for (const [k, was] of entries.listed) {
        if (was?.parsed !== undefined && 'intent' in was.parsed) removeSorted(intents, was.parsed.intent, key);
        entries.parsed.invalid = entries.parsed.invalid.filter((i) => i.key !== k);
        const now = entries.entries.get(k);
        if (now === undefined) continue;
        const parsed = parse(now);
        if ('intent' in parsed) insertSorted(intents, parsed.intent, key);
        else entries.parsed.invalid.push({ key: k, error: parsed.error });
      }
    }
    entries.listed.clear();
    return { intents: [...entries.parsed.intents] as T[], invalid: [...entries.parsed.invalid] };
  }

  routerIntents(): { intents: RouterIntent[]; invalid: InvalidEntry[] } {
    return this.localised(this.intentsOf(DESIRED_KINDS.router, RouterIntentSchema, (r) => r.id));
  }

  dhcpIntents(): { intents: DhcpServerIntent[]; invalid: InvalidEntry[] } {
    return this.localised(this.intentsOf(DESIRED_KINDS.dhcp, DhcpServerIntentSchema, (d) => d.networkId));
  }

  raIntents(): { intents: RaIntent[]; invalid: InvalidEntry[] } {
    return this.localised(this.intentsOf(DESIRED_KINDS.ra, RaIntentSchema, (r) => r.routerId));
  }

  bgpIntents(): { intents: BgpSpeakerIntent[]; invalid: InvalidEntry[] } {
    return this.intentsOf(DESIRED_KINDS.bgp, BgpSpeakerIntentSchema, (s) => s.speakerId);
  }

  metadataIntents(): { intents: MetadataProxyIntent[]; invalid: InvalidEntry[] } {
    return this.localised(this.intentsOf(DESIRED_KINDS.metadata, MetadataProxyIntentSchema, (m) => m.id));
  }

  l2Intent(): { intent: L2HostIntent; invalid: InvalidEntry[] } {
    const networks = this.intentsOf(DESIRED_KINDS.l2Network, L2NetworkIntentSchema, (n) => n.id);
    const ports = this.intentsOf(DESIRED_KINDS.l2Port, L2PortIntentSchema, (p) => p.id);
    const plugged = ports.intents.map((p) =>
      localNetns(this.netnsPrefix, p.workload.netns) === p.workload.netns
        ? p
        : this.localOnce(p, (q) => ({ ...q, workload: { ...q.workload, netns: localNetns(this.netnsPrefix, q.workload.netns) } })),
    );
    return { intent: { networks: networks.intents, ports: plugged }, invalid: [...networks.invalid, ...ports.invalid] };
  }

  private localised<T extends { namespace: string }>(parsed: { intents: T[]; invalid: InvalidEntry[] }): { intents: T[]; invalid: InvalidEntry[] } {
    return this.netnsPrefix === '' ? parsed : { intents: parsed.intents.map((i) => this.local(i)), invalid: parsed.invalid };
  }

  /**
   * The host's filtering: its filtered ports, their groups and the remote groups' members. A
   * group a port names that has no valid entry (not published yet, or unreadable) filters with
   * no rules: the port gets only what every filtered port gets (DHCP, ND), never everything.
   */
  sgIntent(): { intent: SgHostIntent; invalid: InvalidEntry[] } {
    const ports = this.intentsOf(DESIRED_KINDS.sgPort, SgPortIntentSchema, (p) => p.id);
    const groups = this.intentsOf(DESIRED_KINDS.sgGroup, SgGroupIntentSchema, (g) => g.id);
    const members = this.intentsOf(DESIRED_KINDS.sgMembers, SgMembersIntentSchema, (m) => m.groupId);
    const known = new Set(groups.intents.map((g) => g.id));
    const missing = new Set<string>();
    for (const p of ports.intents) for (const id of p.securityGroupIds) if (!known.has(id)) missing.add(id);
    // A filtered port L2 plugs before its own entry arrives (another service publishes it) is
    // held closed meanwhile: no address, no group, only what a DHCP/ND client needs.
    const entered = new Set(ports.intents.map((p) => p.id));
    const held = this.l2Intent()
      .intent.ports.filter((p) => p.filtered === true && !entered.has(p.id))
      .map((p) => ({ id: p.id, networkId: p.networkId, mac: p.mac, fixedIps: [], allowedAddressPairs: [], portSecurityEnabled: true, securityGroupIds: [] }));
    return {
      intent: {
        ports: held.length === 0 ? ports.intents : [...ports.intents, ...held].sort((a, b) => compareText(a.id, b.id)),
        groups: [...groups.intents, ...[...missing].sort().map((id) => ({ id, stateful: true, rules: [] }))],
        members: members.intents,
      },
      invalid: [...ports.invalid, ...groups.invalid, ...members.invalid],
    };
  }
}
