import { SgHostIntentSchema, type SgHostIntent } from '@ncp/contracts';
import { z } from 'zod';
import { errorMessage } from '../daemon/items.js';
import { parseToolJson } from '../json-output.js';
import { assertNetnsName, bridgeName } from '../names.js';
import { type CommandRunner } from '../runner.js';
import { SG_TABLE, SgRenderCache, assignZones, renderFullReplace, securityGroupTables, type SgTables, type ZoneMap } from './render.js';
import { renderSecurityGroupsUpdate } from './update.js';

export interface SgOptions {
  /** the namespace that stands for this host (null = the root namespace) */
  readonly netns: string | null;
}

export type SgResult = { readonly ok: true; readonly ports: number } | { readonly ok: false; readonly error: string };

const inHost = (netns: string | null, argv: string[]) => (netns === null ? argv : ['ip', 'netns', 'exec', assertNetnsName(netns), ...argv]);

const ZonesJson = z.object({
  nftables: z.array(z.object({ map: z.object({ name: z.string(), elem: z.array(z.tuple([z.string(), z.number().int()])).optional() }).optional() })),
});

/**
 * The zones the kernel has now, by network id (read back, so nothing is remembered between
 * runs). Only the zones map is asked for: `nft list tables` would make nft read the whole
 * ruleset first. nft says "No such file or directory" when our table is not there yet.
 */
async function currentZones(runner: CommandRunner, netns: string | null, networkIds: readonly string[]): Promise<Map<string, number>> {
  let text: string;
  try {
    text = (await runner.run(inHost(netns, ['nft', '-j', 'list', 'map', 'inet', SG_TABLE, 'zones']))).stdout;
  } catch (error) {
    if (/No such file or directory/.test(errorMessage(error))) return new Map();
    throw error;
  }
  const byBridge = new Map(networkIds.map((id) => [bridgeName(id), id]));
  const zones = new Map<string, number>();
  for (const entry of parseToolJson(ZonesJson, text, 'nft -j list map').nftables) {
    for (const [bridge, zone] of entry.map?.elem ?? []) {
      const network = byBridge.get(bridge);
      if (network !== undefined) zones.set(network, zone);
    }
  }
  return zones;
}

/**
 * Keeps a host's filtering at its intent, one `nft -f` transaction per apply. The agent makes
 * one per host: `new SecurityGroupsApplier(runner, { netns })`, then `apply(intent)` on every
 * change, never two applies at once.
 *
 * The first apply, and the first after a failure, replaces both tables whole and reads each
 * network's conntrack zone back from the kernel: nothing is remembered across a restart, and
 * what the tables held that is not wanted is swept. After a success it remembers what it
 * loaded, and the next apply sends only the difference (update.ts): a port joining a group is
 * a set element, a rule change one group's chains, so a change costs the same whatever the
 * number of ports on the host. An invalid intent changes nothing, in the kernel or here.
 */
type Validated = { readonly ok: true; readonly intent: SgHostIntent; readonly seen: Set<string> } | { readonly ok: false; readonly error: string };

/**
 * Validates the ports, groups and members entries of an intent that are not in `known` (the
 * JSON of entries that passed before): on a host whose intent changes one entry at a time,
 * checking every address of every entry again was most of an apply's own cost. `seen` is the
 * JSON of every entry, for the next call.
 */
function validateNew(intent: SgHostIntent, known: ReadonlySet<string>, json: (entry: object) => string): Validated {
  const fail = (message: string): Validated => ({ ok: false, error: `invalid security group intent: ${message}` });
  const { ports, groups, members } = intent as Partial<SgHostIntent>;
  const entries = <T>(list: T[] | undefined): list is T[] => Array.isArray(list) && list.every((e) => typeof e === 'object' && e !== null);
  if (!entries(ports) || !entries(groups) || !entries(members)) {
    const whole = SgHostIntentSchema.safeParse(intent);
    return whole.success ? validateNew(whole.data, new Set(), json) : fail(whole.error.message);
  }
  const seen = new Set<string>();
  // a port's, a group's and a members entry's JSON never look alike: one set holds them all
  const unknown = <T extends object>(entries: readonly T[]) =>
    entries.filter((entry) => {
      const key = json(entry);
      seen.add(key);
      return !known.has(key);
    });
  const parsed = SgHostIntentSchema.safeParse({ ports: unknown(ports), groups: unknown(groups), members: unknown(members) });
  return parsed.success ? { ok: true, intent, seen } : fail(parsed.error.message);
}

export class SecurityGroupsApplier {
  private applied: { readonly tables: SgTables; readonly zones: ZoneMap } | null = null;
  private readonly cache = new SgRenderCache();
  private validated: ReadonlySet<string> = new Set();

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: SgOptions,
  ) {}

  async apply(intent: SgHostIntent): Promise<SgResult> {
    let valid: Validated;
    try {
      valid = validateNew(intent, this.validated, (entry) => this.cache.json(entry));
    } catch (error) {
      // what JSON cannot write (a cycle, a bigint) is no intent either
      return { ok: false, error: `invalid security group intent: ${errorMessage(error)}` };
    }
    if (!valid.ok) return valid;
    this.validated = valid.seen;
    const filtered = valid.intent.ports.filter((p) => p.portSecurityEnabled);
    const networks = [...new Set(filtered.map((p) => p.networkId))];
    const previous = this.applied;
    this.applied = null;
    try {
      if (previous === null) {
        // bridged IP traffic is handed to the inet hooks before any rule is loaded, so no port
        // is filtered by half the design
        for (const key of ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables']) {
          await this.runner.run(inHost(this.options.netns, ['sysctl', '-q', '-w', `${key}=1`]));
        }
      }
      const zones = assignZones(networks, previous?.zones ?? (await currentZones(this.runner, this.options.netns, networks)));
      const tables = securityGroupTables(valid.intent, zones, this.cache);
      const text = previous === null ? renderFullReplace(tables) : renderSecurityGroupsUpdate(previous.tables, tables);
      if (text !== '') await this.runner.run(inHost(this.options.netns, ['nft', '-f', '-']), { input: text });
      this.applied = { tables, zones };
      return { ok: true, ports: filtered.length };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  }
}

/**
 * Brings the host's filtering to the intent with a full replace of both tables (a
 * SecurityGroupsApplier's first apply), remembering nothing.
 */
export async function reconcileSecurityGroups(intent: SgHostIntent, runner: CommandRunner, options: SgOptions): Promise<SgResult> {
  return new SecurityGroupsApplier(runner, options).apply(intent);
}
