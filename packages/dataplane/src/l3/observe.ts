import { ipArgv } from '../argv.js';
import { isValidNetnsName } from '../names.js';
import { type CommandRunner } from '../runner.js';
import { parseNetnsJson } from '../l2/observed.js';
import { netnsExecArgv } from './argv.js';
import { type RouterIntent } from './model.js';
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

const OBSERVE_PARALLELISM = 8;

async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Reads back what the L3 planner compares: the namespace list (also for the sweep) and, for
 * each router namespace an intent names and that exists, its links and addresses, the IPv4 and
 * IPv6 routes of table main (`-N`: protocol numbers, whatever rt_protos names them), the router
 * sysctls and our nftables table if present. Read-only; no decisions here.
 *
 * A namespace that cannot be read (deleted meanwhile, a tool missing) is reported in `errors`
 * and fails only its router.
 *
 * @throws DataplaneError when even `ip netns list` fails
 */
export async function observeL3(intents: readonly RouterIntent[], runner: CommandRunner): Promise<ObservedL3> {
  const netns = parseNetnsJson((await runner.run(['ip', '-j', 'netns', 'list'])).stdout);
  const wanted = [...new Set(intents.map((r) => r.namespace).filter((ns) => typeof ns === 'string' && isValidNetnsName(ns) && netns.includes(ns)))].sort();
  const routers: Record<string, ObservedRouterNs> = {};
  const errors: Record<string, string> = {};
  await inParallel(wanted, OBSERVE_PARALLELISM, async (ns) => {
    try {
      routers[ns] = await observeNamespace(ns, runner);
    } catch (error) {
      errors[ns] = error instanceof Error ? error.message : String(error);
    }
  });
  return Object.keys(errors).length === 0 ? { netns, routers } : { netns, routers, errors };
}

async function observeNamespace(ns: string, runner: CommandRunner): Promise<ObservedRouterNs> {
  const read = async (argv: string[]): Promise<string> => (await runner.run(argv)).stdout;
  const links = parseIpAddrJson(await read(ipArgv(ns, '-j', 'addr', 'show')));
  const routes = [
    ...parseIpRouteJson(await read(ipArgv(ns, '-N', '-j', 'route', 'show', 'table', 'main')), 4),
    ...parseIpRouteJson(await read(ipArgv(ns, '-N', '-6', '-j', 'route', 'show', 'table', 'main')), 6),
  ];
  const keys = Object.keys(ROUTER_SYSCTLS);
  const sysctl = parseSysctlValues(await read(netnsExecArgv(ns, 'sysctl', '-n', ...keys)), keys);
  const tables = parseNftTablesJson(await read(netnsExecArgv(ns, 'nft', '-j', 'list', 'tables')));
  // Listed by name only when present: `nft list table` of a missing table is an error.
  const ruleset = tables.includes(`${NFT_TABLE_FAMILY} ${NFT_TABLE_NAME}`)
    ? parseNftTableText(await read(netnsExecArgv(ns, 'nft', 'list', 'table', NFT_TABLE_FAMILY, NFT_TABLE_NAME)))
    : null;
  return { links, routes, sysctl, ruleset };
}
