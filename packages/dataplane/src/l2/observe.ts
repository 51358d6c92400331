import { isValidLinkName, isValidNetnsName, type L2HostIntent } from '@ncp/contracts';
import { bridgeArgv, ipArgv } from '../argv.js';
import { FAILED_LINE } from '../batch.js';
import { DataplaneError } from '../errors.js';
import { parseOwnerAlias } from '../names.js';
import { OBSERVE_PARALLELISM, inParallel, listNetns } from '../observe-support.js';
import { type CommandRunner } from '../runner.js';
import { type L2HostConfig } from './model.js';
import { parseFdbByDevice, parseIpLinkJson, type ObservedFdbEntry, type ObservedL2, type ObservedLink } from './observed.js';

/** Read-backs a caller already holds and knows to be current: they are not read again. */
export interface KnownL2 {
  /**
   * the host namespace's links as last read, by name, with the names that may have changed since:
   * only those are read again (without it, every link is)
   */
  readonly hostLinks?: { readonly links: ReadonlyMap<string, ObservedLink>; readonly stale: ReadonlySet<string> };
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
  // The host namespace and the workload namespaces are read side by side: a bind's pass reads
  // one of each, and most of either is waiting for its process.
  const [host, workloads] = await bothSettled(observeHost(config.netns, runner, known), observeWorkloads(intent, runner, known));
  return { ...host, ...workloads };
}

/** Both results, once both have settled (no read is left running behind a failure); the first failure is thrown. */
async function bothSettled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

async function observeHost(host: string | null, runner: CommandRunner, known: KnownL2): Promise<Pick<ObservedL2, 'hostLinks' | 'fdb'>> {
  const hostLinks =
    known.hostLinks === undefined
      ? parseIpLinkJson((await runner.run(ipArgv(host, '-j', '-d', 'link', 'show'))).stdout)
      : await refreshLinks(host, known.hostLinks.links, known.hostLinks.stale, runner);

  const fdb: Record<string, readonly ObservedFdbEntry[]> = {};
  // Only our VXLAN devices: another driver's fdb is none of our business.
  const ours = hostLinks.filter((l) => l.kind === 'vxlan' && parseOwnerAlias(l.alias)?.tag === 'vx' && isValidLinkName(l.name));
  if (ours.length > 0) {
    const byDevice = known.fdb ?? parseFdbByDevice((await runner.run(bridgeArgv(host, '-j', 'fdb', 'show'))).stdout);
    for (const link of ours) fdb[link.name] = byDevice[link.name] ?? [];
  }
  return { hostLinks, fdb };
}

async function observeWorkloads(intent: L2HostIntent, runner: CommandRunner, known: KnownL2): Promise<Pick<ObservedL2, 'netns' | 'workloadLinks'>> {
  const netns = await listNetns(runner);
  const present = new Set(netns);
  const wanted = [...new Set(intent.ports.map((p) => p.workload.netns))].filter((ns) => present.has(ns) && isValidNetnsName(ns)).sort();
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
  return { netns, workloadLinks };
}

/** `Device "X" does not exist.`: what `ip link show dev X` prints for a name no link has. */
const NO_DEVICE = /^Device "(.+)" does not exist\.$/;

/**
 * `links` with the `names` read again: one `ip -force -batch` of `link show dev` lines, whose
 * missing devices fail their own lines only. A name no link has any more drops out.
 *
 * @throws DataplaneError `DATAPLANE.BAD_OUTPUT` when the batch failed for any other reason
 *   (the caller then reads everything)
 */
async function refreshLinks(
  host: string | null,
  links: ReadonlyMap<string, ObservedLink>,
  names: ReadonlySet<string>,
  runner: CommandRunner,
): Promise<ObservedLink[]> {
  const wanted = [...names].filter(isValidLinkName).sort();
  const merged = new Map(links);
  if (wanted.length === 0) return [...merged.values()];
  const result = await runner.run(ipArgv(host, '-j', '-d', '-force', '-batch', '-'), {
    input: wanted.map((name) => `link show dev ${name}\n`).join(''),
    allowFailure: true,
  });
  const missing = new Set<string>();
  for (const line of (result.failure?.stderr ?? '').split('\n')) {
    const name = NO_DEVICE.exec(line)?.[1];
    if (name !== undefined) missing.add(name);
    else if (line.trim() !== '' && !FAILED_LINE.test(line)) throw new DataplaneError('DATAPLANE.BAD_OUTPUT', `reading links ${wanted.join(' ')}: ${line}`);
  }
  const found = result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => parseIpLinkJson(line));
  for (const name of wanted) merged.delete(name);
  for (const link of found) merged.set(link.name, link);
  const unaccounted = wanted.filter((name) => !merged.has(name) && !missing.has(name));
  if (unaccounted.length > 0 || (result.failure !== undefined && missing.size === 0)) {
    throw new DataplaneError('DATAPLANE.BAD_OUTPUT', `reading links ${wanted.join(' ')}: no answer for ${unaccounted.join(' ') || 'a failed line'}`);
  }
  return [...merged.values()];
}
