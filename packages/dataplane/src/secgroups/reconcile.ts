import { SgGroupIntentSchema, SgHostIntentSchema, SgMembersIntentSchema, SgPortIntentSchema, type SgHostIntent } from '@ncp/contracts';
import { z } from 'zod';
import { errorMessage } from '../daemon/items.js';
import { formatIssues, parseOnce } from '../intent-groups.js';
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

type Validated = { readonly ok: true; readonly intent: SgHostIntent } | { readonly ok: false; readonly error: string };

const ENTRY_SCHEMAS: readonly (readonly ['ports' | 'groups' | 'members', z.ZodType<object>])[] = [
  ['ports', SgPortIntentSchema],
  ['groups', SgGroupIntentSchema],
  ['members', SgMembersIntentSchema],
];

/**
 * Validates an intent entry by entry, each frozen entry once (see parseOnce): the agent hands
 * every pass the entries it parsed from the desired state, already checked by the same schemas,
 * and checking every address of every entry on each pass was most of an apply's own cost.
 */
function validate(intent: SgHostIntent): Validated {
  const fail = (message: string): Validated => ({ ok: false, error: `invalid security group intent: ${message}` });
  const lists = intent as Partial<Record<'ports' | 'groups' | 'members', unknown>>;
  if (typeof intent !== 'object' || intent === null || ENTRY_SCHEMAS.some(([name]) => !Array.isArray(lists[name]))) {
    const whole = SgHostIntentSchema.safeParse(intent);
    return whole.success ? { ok: true, intent: whole.data } : fail(whole.error.message);
  }
  for (const [name, schema] of ENTRY_SCHEMAS) {
    const entries = lists[name] as readonly unknown[];
    for (let i = 0; i < entries.length; i++) {
      const parsed = parseOnce(schema, entries[i]);
      if (!parsed.success) return fail(`${name}.${i}: ${formatIssues(parsed.error)}`);
    }
  }
  return { ok: true, intent };
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
export class SecurityGroupsApplier {
  private applied: { readonly tables: SgTables; readonly zones: ZoneMap } | null = null;
  private readonly cache = new SgRenderCache();

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: SgOptions,
  ) {}

  async apply(intent: SgHostIntent): Promise<SgResult> {
    const valid = validate(intent);
    if (!valid.ok) return valid;
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
