import { SgHostIntentSchema, type SgHostIntent } from '@ncp/contracts';
import { z } from 'zod';
import { errorMessage } from '../daemon/items.js';
import { parseToolJson } from '../json-output.js';
import { parseNftTablesJson } from '../l3/observed.js';
import { assertNetnsName, bridgeName } from '../names.js';
import { type CommandRunner } from '../runner.js';
import { SG_TABLE, assignZones, renderSecurityGroups } from './render.js';

export interface SgOptions {
  /** the namespace that stands for this host (null = the root namespace) */
  readonly netns: string | null;
}

export type SgResult = { readonly ok: true; readonly ports: number } | { readonly ok: false; readonly error: string };

const inHost = (netns: string | null, argv: string[]) => (netns === null ? argv : ['ip', 'netns', 'exec', assertNetnsName(netns), ...argv]);

const ZonesJson = z.object({
  nftables: z.array(z.object({ map: z.object({ name: z.string(), elem: z.array(z.tuple([z.string(), z.number().int()])).optional() }).optional() })),
});

/** The zones the kernel has now, by network id (read back, so nothing is remembered between runs). */
async function currentZones(runner: CommandRunner, netns: string | null, networkIds: readonly string[]): Promise<Map<string, number>> {
  const tables = parseNftTablesJson((await runner.run(inHost(netns, ['nft', '-j', 'list', 'tables']))).stdout);
  if (!tables.includes(`inet ${SG_TABLE}`)) return new Map();
  const text = (await runner.run(inHost(netns, ['nft', '-j', 'list', 'map', 'inet', SG_TABLE, 'zones']))).stdout;
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
 * Brings the host's filtering to the intent in one `nft -f` transaction. Bridged IP traffic is
 * handed to the inet hooks (br_netfilter) before any rule is loaded, so no port is filtered by
 * half a design. An invalid intent changes nothing.
 */
export async function reconcileSecurityGroups(intent: SgHostIntent, runner: CommandRunner, options: SgOptions): Promise<SgResult> {
  const parsed = SgHostIntentSchema.safeParse(intent);
  if (!parsed.success) return { ok: false, error: `invalid security group intent: ${parsed.error.message}` };
  const host = parsed.data;
  try {
    for (const key of ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables']) {
      await runner.run(inHost(options.netns, ['sysctl', '-q', '-w', `${key}=1`]));
    }
    const networks = [...new Set(host.ports.filter((p) => p.portSecurityEnabled).map((p) => p.networkId))];
    const zones = assignZones(networks, await currentZones(runner, options.netns, networks));
    await runner.run(inHost(options.netns, ['nft', '-f', '-']), { input: renderSecurityGroups(host, zones) });
    return { ok: true, ports: host.ports.filter((p) => p.portSecurityEnabled).length };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}
