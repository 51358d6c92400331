import { isValidLinkName, isValidNetnsName, type L2HostIntent } from '@ncp/contracts';
import { bridgeArgv, ipArgv } from '../argv.js';
import { parseOwnerAlias } from '../names.js';
import { OBSERVE_PARALLELISM, inParallel, listNetns } from '../observe-support.js';
import { type CommandRunner } from '../runner.js';
import { type L2HostConfig } from './model.js';
import { parseFdbByDevice, parseIpLinkJson, type ObservedFdbEntry, type ObservedL2, type ObservedLink } from './observed.js';

/** Read-backs a caller already holds and knows to be current: they are not read again. */
export interface KnownL2 {
  /** links of workload namespaces (used only for namespaces that exist) */
  readonly workloadLinks?: ReadonlyMap<string, readonly ObservedLink[]>;
  /** the fdb of our VXLAN devices */
  readonly fdb?: Readonly<Record<string, readonly ObservedFdbEntry[]>>;
}

/**
 * Reads back what the planner compares: all links of the host namespace (with -d for the
 * link kind and VXLAN/VLAN details), the fdb of our VXLAN devices, the namespace list, and the
 * links of the workload namespaces the intent mentions, except what `known` holds.
 * Read-only; no decisions here.
 */
export async function observeL2(intent: L2HostIntent, config: L2HostConfig, runner: CommandRunner, known: KnownL2 = {}): Promise<ObservedL2> {
  const host = config.netns;
  const hostLinks = parseIpLinkJson((await runner.run(ipArgv(host, '-j', '-d', 'link', 'show'))).stdout);

  const fdb: Record<string, readonly ObservedFdbEntry[]> = {};
  // Only our VXLAN devices: another driver's fdb is none of our business.
  const ours = hostLinks.filter((l) => l.kind === 'vxlan' && parseOwnerAlias(l.alias)?.tag === 'vx' && isValidLinkName(l.name));
  if (ours.length > 0) {
    const byDevice = known.fdb ?? parseFdbByDevice((await runner.run(bridgeArgv(host, '-j', 'fdb', 'show'))).stdout);
    for (const link of ours) fdb[link.name] = byDevice[link.name] ?? [];
  }

  const netns = await listNetns(runner);
  const wanted = [...new Set(intent.ports.map((p) => p.workload.netns).filter((ns) => isValidNetnsName(ns) && netns.includes(ns)))].sort();
  // One command per workload namespace: read them a few at a time.
  const workloadLinks: Record<string, readonly ObservedLink[]> = {};
  const unread = wanted.filter((ns) => {
    const links = known.workloadLinks?.get(ns);
    if (links !== undefined) workloadLinks[ns] = links;
    return links === undefined;
  });
  await inParallel(unread, OBSERVE_PARALLELISM, async (ns) => {
    workloadLinks[ns] = parseIpLinkJson((await runner.run(ipArgv(ns, '-j', '-d', 'link', 'show'))).stdout);
  });
  return { hostLinks, fdb, netns, workloadLinks };
}
