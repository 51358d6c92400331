import { bridgeArgv, ipArgv } from '../argv.js';
import { isValidLinkName, isValidNetnsName, parseOwnerAlias } from '../names.js';
import { type CommandRunner } from '../runner.js';
import { type L2HostConfig, type L2HostIntent } from './model.js';
import { parseFdbJson, parseIpLinkJson, parseNetnsJson, type ObservedFdbEntry, type ObservedL2, type ObservedLink } from './observed.js';

/**
 * Reads back what the planner compares: all links of the host namespace (with -d for the
 * link kind and VXLAN/VLAN details), the fdb of our VXLAN devices, the namespace list, and the
 * links of the workload namespaces the intent mentions. Read-only; no decisions here.
 */
export async function observeL2(intent: L2HostIntent, config: L2HostConfig, runner: CommandRunner): Promise<ObservedL2> {
  const host = config.netns;
  const hostLinks = parseIpLinkJson((await runner.run(ipArgv(host, '-j', '-d', 'link', 'show'))).stdout);

  const fdb: Record<string, readonly ObservedFdbEntry[]> = {};
  for (const link of hostLinks) {
    // Only our VXLAN devices: another driver's fdb is none of our business.
    if (link.kind !== 'vxlan' || parseOwnerAlias(link.alias)?.tag !== 'vx' || !isValidLinkName(link.name)) continue;
    fdb[link.name] = parseFdbJson((await runner.run(bridgeArgv(host, '-j', 'fdb', 'show', 'dev', link.name))).stdout);
  }

  const netns = parseNetnsJson((await runner.run(['ip', '-j', 'netns', 'list'])).stdout);
  const wanted = new Set(intent.ports.map((p) => p.workload.netns).filter((ns) => isValidNetnsName(ns) && netns.includes(ns)));
  const workloadLinks: Record<string, readonly ObservedLink[]> = {};
  for (const ns of [...wanted].sort()) {
    workloadLinks[ns] = parseIpLinkJson((await runner.run(ipArgv(ns, '-j', '-d', 'link', 'show'))).stdout);
  }
  return { hostLinks, fdb, netns, workloadLinks };
}
