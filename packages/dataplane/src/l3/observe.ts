import { isValidNetnsName, type RouterIntent } from '@ncp/contracts';
import { ipArgv } from '../argv.js';
import { OBSERVE_PARALLELISM, inParallel, listNetns } from '../observe-support.js';
import { type CommandRunner } from '../runner.js';
import { parseIpLinkJson } from '../l2/observed.js';
import { netnsExecArgv } from './argv.js';
import { resolveL3Options, type L3Options } from './model.js';
import {
  NFT_TABLE_FAMILY,
  NFT_TABLE_NAME,
  ROUTER_SYSCTLS,
  parseIpAddrJson,
  parseIpRouteJson,
  parseNftTableText,
  parseNftTablesJson,
  parseSysctlValues,
  type ObservedL3,
  type ObservedRouterNs,
} from './observed.js';

/** A router namespace as last read, with its owner mark: what a pass may take instead of reading it. */
export interface RouterReadBack {
  readonly state: ObservedRouterNs;
  readonly mark: string | null;
}

/**
 * Reads back what the L3 planner compares: the namespace list (also for the sweep) and, for
 * each router namespace an intent names and that exists, its links and addresses, the IPv4 and
 * IPv6 routes of table main (`-N`: protocol numbers, whatever rt_protos names them), the router
 * sysctls and our nftables table if present. Read-only; no decisions here.
 *
 * With an owner (see `L3Options.owner`) it also reads the owner mark (the `lo` alias) of those
 * namespaces and of the unwanted ones of our name form, the sweep candidates.
 *
 * A namespace that cannot be read (deleted meanwhile, a tool missing) is reported in `errors`
 * and fails only its router. A wanted namespace in `known` is not read: its read-back is taken
 * as it is (see `L3Reconciler`).
 *
 * @throws DataplaneError when even `ip netns list` fails; `DATAPLANE.INVALID_CONFIG` for
 *   invalid options
 */
export async function observeL3(
  intents: readonly RouterIntent[],
  runner: CommandRunner,
  options: L3Options = {},
  known: ReadonlyMap<string, RouterReadBack> = new Map(),
): Promise<ObservedL3> {
  const { namespacePattern, ownerMark } = resolveL3Options(options);
  const netns = await listNetns(runner);
  const named = new Set(intents.map((r) => r.namespace));
  const wanted = [...named].filter((ns) => typeof ns === 'string' && isValidNetnsName(ns) && netns.includes(ns)).sort();
  const routers: Record<string, ObservedRouterNs> = {};
  const errors: Record<string, string> = {};
  const marks: Record<string, string | null> = {};
  const readMark = async (ns: string): Promise<void> => {
    const [lo] = parseIpLinkJson((await runner.run(ipArgv(ns, '-j', 'link', 'show', 'dev', 'lo'))).stdout);
    marks[ns] = lo?.alias ?? null;
  };
  const toRead = wanted.filter((ns) => {
    const readBack = known.get(ns);
    if (readBack === undefined) return true;
    routers[ns] = readBack.state;
    marks[ns] = readBack.mark;
    return false;
  });
  await inParallel(toRead, OBSERVE_PARALLELISM, async (ns) => {
    try {
      [routers[ns]] = await Promise.all([observeNamespace(ns, runner), ownerMark === null ? undefined : readMark(ns)]);
    } catch (error) {
      errors[ns] = error instanceof Error ? error.message : String(error);
    }
  });
  if (ownerMark === null) return Object.keys(errors).length === 0 ? { netns, routers } : { netns, routers, errors };
  // Sweep candidates: only those with our mark are ours to delete; an unreadable one is not.
  const candidates = netns.filter((ns) => namespacePattern.test(ns) && !named.has(ns));
  await inParallel(candidates, OBSERVE_PARALLELISM, async (ns) => {
    try {
      await readMark(ns);
    } catch {
      marks[ns] = null;
    }
  });
  return Object.keys(errors).length === 0 ? { netns, routers, marks } : { netns, routers, errors, marks };
}

/**
 * The reads of one namespace go out at once: each is a process that enters the namespace, which
 * costs more than its command, and a pass that changes one router (a floating IP) waits for
 * all of them.
 */
async function observeNamespace(ns: string, runner: CommandRunner): Promise<ObservedRouterNs> {
  const read = async (argv: string[]): Promise<string> => (await runner.run(argv)).stdout;
  const keys = Object.keys(ROUTER_SYSCTLS);
  const [addresses, routes4, routes6, sysctls, tableList] = await Promise.all([
    read(ipArgv(ns, '-j', 'addr', 'show')),
    read(ipArgv(ns, '-N', '-j', 'route', 'show', 'table', 'main')),
    read(ipArgv(ns, '-N', '-6', '-j', 'route', 'show', 'table', 'main')),
    read(netnsExecArgv(ns, 'sysctl', '-n', ...keys)),
    read(netnsExecArgv(ns, 'nft', '-j', 'list', 'tables')),
  ]);
  const tables = parseNftTablesJson(tableList);
  // Listed by name only when present: `nft list table` of a missing table is an error.
  const ruleset = tables.includes(`${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME}`)
    ? parseNftTableText(await read(netnsExecArgv(ns, 'nft', 'list', 'table', NFT_TABLE_FAMILY, NFT_TABLE_NAME)))
    : null;
  return {
    links: parseIpAddrJson(addresses),
    routes: [...parseIpRouteJson(routes4, 4), ...parseIpRouteJson(routes6, 6)],
    sysctl: parseSysctlValues(sysctls, keys),
    ruleset,
  };
}
