import path from 'node:path';
import { MetadataProxyIntentSchema, isValidNetnsName, type MetadataProxyIntent } from '@ncp/contracts';
import { ipArgv } from '../argv.js';
import { METADATA_PROXY_SCRIPT, awaitDaemon, runningDaemon, stopDaemon, type DaemonTimings } from '../daemon/daemon.js';
import { type DaemonHost } from '../daemon/host.js';
import { forgetSettledExcept, stillSettled, type SettledDaemons } from '../daemon/settled.js';
import { intentJson } from '../intent-groups.js';
import { assertStateDir } from '../daemon/state-dir.js';
import { errorMessage, reconcileEach, startDaemonPass, sweepStateDirs, type ItemResult } from '../daemon/items.js';
import { DataplaneError } from '../errors.js';
import { netnsExecArgv } from '../l3/argv.js';
import { parseIpAddrJson, type ObservedRouterLink } from '../l3/observed.js';
import { isReadOnlyCommand, type CommandRunner } from '../runner.js';
import { METADATA_IPV4, METADATA_IPV6 } from './model.js';
import { assertSocketPath, metadataProxyDir, metadataProxyFiles, type MetadataProxyFiles } from './paths.js';

export interface MetadataOptions {
  /** e.g. `/var/lib/ncp-agent`: proxies live in `<stateDir>/metadata/<router or network id>/` */
  readonly stateDir: string;
  /**
   * The router and DHCP namespaces of this host (its L3 and DHCP intents): the metadata
   * addresses in any of them that no intent names are removed. Never another agent's: agents
   * sharing a machine share the namespace names.
   */
  readonly namespaces: readonly string[];
  /**
   * Namespaces known to hold no metadata address, owned by the caller across passes: the sweep
   * does not read them, adds each it leaves clean, and drops those an intent now serves (they
   * are read when one no longer does) or that are gone. Without it, every pass read every
   * namespace not served; a caller clears it to have them all read again (a resync).
   */
  readonly clean?: Set<string>;
  /**
   * The proxies a pass found in place (see `SettledDaemon`): their namespace's addresses and the
   * namespace their pid runs in are not read again while nothing of them changes.
   */
  readonly settled?: SettledDaemons;
  /** the agent's forwarder, which signs and forwards what the proxies send (`metadataForwardSocket`) */
  readonly forwardSocket: string;
  /** files, /proc and signals; the real machine by default */
  readonly host?: DaemonHost;
  readonly timings?: Partial<DaemonTimings>;
  /**
   * How the proxy is run: [node, proxy-main.js]. Default: this node and the proxy-main.js next
   * to this module in dist/ (tests running the TypeScript sources pass the built one).
   */
  readonly proxyCommand?: readonly [string, string];
}

export type MetadataItem = `metadata:${string}` | 'sweep';

/** The outcome of one item, shaped like `DhcpItemResult`. */
export type MetadataItemResult = ItemResult<'metadata', object>;

/** One command of a proxy's address set-up, with the reason shown when it fails. */
export interface MetadataStep {
  readonly argv: readonly string[];
  readonly why: string;
}

interface Context {
  readonly stateDir: string;
  readonly namespaces: readonly string[];
  readonly forwardSocket: string;
  readonly proxyCommand: readonly [string, string];
  readonly runner: CommandRunner;
  readonly host: DaemonHost;
  readonly timings: DaemonTimings;
  readonly netns: readonly string[];
  readonly clean: Set<string> | undefined;
  readonly settled: SettledDaemons | undefined;
}

const message = errorMessage;

const V4 = `${METADATA_IPV4}/32`;
const V6 = `${METADATA_IPV6}/64`;

/** The config names every instance and project behind the namespace: root's to read. */
const CONFIG_MODE = 0o600;

/**
 * True for the commands the metadata driver only reads with: the `ip` read-backs and
 * `ip netns identify <pid>`. Used to prove that a converged proxy gets no mutating command.
 */
export function isMetadataReadOnlyCommand(argv: readonly string[]): boolean {
  if (argv.length === 4 && argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'identify') return true;
  return isReadOnlyCommand(argv);
}

/**
 * The metadata addresses of one router or DHCP namespace, given what the metadata service
 * decided for it: `intent`, or null when it serves no metadata (a DHCP server whose network got
 * a router, a router that lost its last interface...). Pure; empty means converged.
 *
 * With an intent: lo up with 169.254.169.254/32 (reached through the router, or through the
 * DHCP port by the host route DHCP hands out), and fe80::a9fe:a9fe/64 on exactly the intent's
 * interfaces that are there (an unplugged one is the L2/L3 drivers' to report) and on no other
 * interface of the namespace. The metadata service names one interface per network, so one
 * neighbour answers for the address on a segment. Without one: neither address anywhere.
 *
 * The IPv6 address must never be the source of what the namespace itself sends, or workloads
 * would take it for the router's (RAs are pinned to the port's own address by radvd.conf):
 * - nodad: it is the same on every router and DHCP server, and a duplicate must not disable it;
 * - preferred_lft 0 (deprecated): the kernel's source selection passes it over (RFC 6724 rule
 *   3) while it still answers neighbour solicitations and connections;
 * - the newest link-local address of its interface: the kernel's neighbour solicitations for
 *   forwarded packets come from the oldest one (its list is newest first), so an address the
 *   kernel or the RA driver added after it has it removed and added again.
 * Link scope: the L3 and DHCP drivers remove only global addresses, so they leave it alone.
 */
export function planMetadataAddresses(
  namespace: string,
  intent: Pick<MetadataProxyIntent, 'interfaces'> | null,
  links: readonly ObservedRouterLink[],
): MetadataStep[] {
  const ns = namespace;
  const steps: MetadataStep[] = [];
  const lo = links.find((l) => l.name === 'lo');
  const hasV4 = lo?.addresses.some((a) => a.cidr === V4) === true;
  if (intent !== null) {
    if (lo !== undefined && !lo.up) steps.push({ argv: ipArgv(ns, 'link', 'set', 'dev', 'lo', 'up'), why: 'bringing lo up' });
    if (!hasV4) steps.push({ argv: ipArgv(ns, 'addr', 'add', V4, 'dev', 'lo'), why: `adding ${V4} to lo` });
  } else if (hasV4) {
    steps.push({ argv: ipArgv(ns, 'addr', 'del', V4, 'dev', 'lo'), why: `removing ${V4} from lo: no metadata is served here` });
  }
  const wanted = new Set(intent?.interfaces ?? []);
  for (const link of links) {
    const linkLocal = link.addresses.filter((a) => a.family === 6 && a.scope === 'link');
    const address = linkLocal.find((a) => a.cidr === V6);
    if (!wanted.has(link.name)) {
      if (address !== undefined) {
        const why = intent === null ? 'no metadata is served here' : `the metadata service names ${link.name} for no network`;
        steps.push({ argv: ipArgv(ns, 'addr', 'del', V6, 'dev', link.name), why: `removing ${V6} from ${link.name}: ${why}` });
      }
      continue;
    }
    if (address !== undefined && !address.dadFailed && address.deprecated && linkLocal[0] === address) continue;
    if (address !== undefined) {
      const why = address.dadFailed
        ? 'it failed DAD'
        : !address.deprecated
          ? 'it is not deprecated'
          : 'a newer link-local address would make it the source of neighbour solicitations';
      steps.push({ argv: ipArgv(ns, 'addr', 'del', V6, 'dev', link.name), why: `${V6} on ${link.name}: ${why}, removing it to add it again` });
    }
    steps.push({ argv: ipArgv(ns, 'addr', 'add', V6, 'dev', link.name, 'nodad', 'preferred_lft', '0'), why: `adding ${V6} to ${link.name}` });
  }
  return steps;
}

/** `ip netns exec <ns> node proxy-main.js --config=... --pid-file=... --socket=... --log-file=... --daemon` */
export function proxyArgv(intent: MetadataProxyIntent, files: MetadataProxyFiles, forwardSocket: string, proxyCommand: readonly [string, string]): string[] {
  return netnsExecArgv(
    intent.namespace,
    ...proxyCommand,
    `--config=${files.configFile}`,
    `--pid-file=${files.pidFile}`,
    `--socket=${forwardSocket}`,
    `--log-file=${files.logFile}`,
    '--daemon',
  );
}

/** Whether the process is in the named namespace, rather than in one deleted (and maybe made again) since it started. */
async function inNamespace(ctx: Context, pid: number, ns: string): Promise<boolean> {
  try {
    return (await ctx.runner.run(['ip', 'netns', 'identify', String(pid)])).stdout.split('\n').some((name) => name.trim() === ns);
  } catch {
    return false;
  }
}

async function reconcileProxy(ctx: Context, raw: MetadataProxyIntent): Promise<void> {
  const parsed = MetadataProxyIntentSchema.safeParse(raw);
  if (!parsed.success) throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `invalid metadata proxy intent: ${parsed.error.message}`);
  const intent = parsed.data;
  const files = metadataProxyFiles(metadataProxyDir(ctx.stateDir, intent.id));
  const argv = proxyArgv(intent, files, ctx.forwardSocket, ctx.proxyCommand);
  const ns = intent.namespace;
  const json = intentJson(raw);
  if (await stillSettled(ctx, intent.id, { namespace: ns, intent: json }, 'metadata-proxy', files.pidFile)) return;
  if (!ctx.netns.includes(ns)) {
    // a proxy of ours still running serves a namespace that was deleted: it goes, and a new
    // one starts when the namespace is back
    await stopDaemon(ctx.host, 'metadata-proxy', files.pidFile, ctx.timings);
    throw new Error(`namespace ${ns} does not exist yet (the ${intent.kind === 'router' ? 'L3' : 'L2'} driver creates it)`);
  }

  // the proxy starts even when an address cannot be added (IPv6 off on an interface must not
  // cost the IPv4 service); the item still reports what failed
  const failures: string[] = [];
  const steps = planMetadataAddresses(ns, intent, parseIpAddrJson((await ctx.runner.run(ipArgv(ns, '-j', 'addr', 'show'))).stdout));
  for (const step of steps) {
    try {
      await ctx.runner.run(step.argv);
    } catch (error) {
      failures.push(`${step.why}: ${message(error)}`);
    }
  }

  await ctx.host.makeDir(files.dir);
  const config = `${JSON.stringify({ endpoints: intent.endpoints }, null, 2)}\n`;
  if ((await ctx.host.readFile(files.configFile)) !== config) await ctx.host.writeFileAtomic(files.configFile, config, CONFIG_MODE);

  const wantedCmdline = `${JSON.stringify(argv)}\n`;
  const argvChanged = (await ctx.host.readFile(files.cmdlineFile)) !== wantedCmdline;
  let pid = await runningDaemon(ctx.host, 'metadata-proxy', files.pidFile);
  if (pid !== null && (argvChanged || !(await inNamespace(ctx, pid, ns)))) {
    await stopDaemon(ctx.host, 'metadata-proxy', files.pidFile, ctx.timings);
    pid = null;
  }
  if (pid === null) {
    // stored before the start: a start that fails half-way is retried as a start
    if (argvChanged) await ctx.host.writeFileAtomic(files.cmdlineFile, wantedCmdline);
    await ctx.runner.run(argv);
    await awaitDaemon(ctx.host, 'metadata-proxy', files.pidFile, ctx.timings, files.logFile);
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
  // a proxy started or an address added now is read once more by the next pass
  if (pid !== null && steps.length === 0) ctx.settled?.set(intent.id, { namespace: ns, intent: json, pid });
}

/**
 * Stops the proxies no intent names and removes their state; then removes the metadata
 * addresses from this host's router and DHCP namespaces that no intent names (mark and sweep:
 * the kernel is read back, but for the namespaces `clean` says hold none), so that when a network's metadata moves,
 * say from its DHCP server to the router just attached to it, it does not stay behind. A
 * namespace that goes with its router or DHCP server is deleted by its own driver.
 */
async function sweep(ctx: Context, wanted: ReadonlySet<string>, served: ReadonlySet<string>): Promise<void> {
  const failures: string[] = [];
  try {
    await sweepStateDirs(ctx.host, path.posix.join(ctx.stateDir, 'metadata'), wanted, 'metadata proxy', async (id) => {
      const files = metadataProxyFiles(metadataProxyDir(ctx.stateDir, id));
      await stopDaemon(ctx.host, 'metadata-proxy', files.pidFile, ctx.timings);
      await ctx.host.removeDir(files.dir);
    });
  } catch (error) {
    failures.push(message(error));
  }
  const clean = ctx.clean;
  if (clean !== undefined) for (const ns of clean) if (served.has(ns) || !ctx.netns.includes(ns)) clean.delete(ns);
  for (const ns of [...new Set(ctx.namespaces)].sort()) {
    if (served.has(ns) || !ctx.netns.includes(ns) || clean?.has(ns)) continue;
    try {
      const links = parseIpAddrJson((await ctx.runner.run(ipArgv(ns, '-j', 'addr', 'show'))).stdout);
      for (const step of planMetadataAddresses(ns, null, links)) await ctx.runner.run(step.argv);
      clean?.add(ns);
    } catch (error) {
      failures.push(`metadata addresses of ${ns}: ${message(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/**
 * Proxies reconciled at once. A start is two Node processes (the starter, then the proxy) and a
 * wait for its pid file: one after another, a cold start of 101 routers took 58 to 62 s, four at
 * a time 38 to 43 s; eight were no better, the machine being busy throughout (bench/l3).
 */
export const METADATA_PROXY_STARTS = 4;

/**
 * Runs the metadata proxies of this host: one per router or DHCP namespace that serves
 * instances, listening on 169.254.169.254:80 and [fe80::a9fe:a9fe]:80 and forwarding, with the
 * caller's identity, to the agent's forwarder socket. Level-triggered and idempotent: the
 * namespace's addresses, the state files and /proc are read back, so a restarted agent adopts
 * the proxies it started before (pid file + cmdline check, and `ip netns identify`), and a
 * converged proxy gets no mutating command. A changed endpoint list only rewrites the config
 * file, which the proxy re-reads. `intents` must be everything of this host: any other proxy
 * is stopped and its state removed.
 *
 * Returns, in order, one result per intent (`metadata:<id>`), then `sweep`.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid stateDir, forwardSocket or
 *   proxyCommand. A failure to list the namespaces is not thrown: every item is reported with it.
 */
export async function reconcileMetadata(
  intents: readonly MetadataProxyIntent[],
  runner: CommandRunner,
  options: MetadataOptions,
): Promise<MetadataItemResult[]> {
  const stateDir = assertStateDir(options.stateDir);
  const forwardSocket = assertSocketPath(options.forwardSocket);
  const proxyCommand = options.proxyCommand ?? [process.execPath, path.join(__dirname, METADATA_PROXY_SCRIPT)];
  if (!proxyCommand.every((p) => path.isAbsolute(p)))
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `proxyCommand must be absolute paths, got ${proxyCommand.join(' ')}`);
  const items: MetadataItem[] = [...intents.map((i): MetadataItem => `metadata:${String(i.id)}`), 'sweep'];

  const pass = await startDaemonPass(runner, options, items);
  if ('failed' in pass) return pass.failed;
  const namespaces = options.namespaces.filter(isValidNetnsName);
  const ctx: Context = { stateDir, namespaces, forwardSocket, proxyCommand, runner, clean: options.clean, settled: options.settled, ...pass };
  forgetSettledExcept(options.settled, new Set(intents.map((i) => String(i.id))));
  // a namespace an intent names, even one in error, keeps its addresses for that intent's item
  const served = new Set(intents.map((i) => String(i.namespace)));

  // a failing proxy is still wanted: it keeps serving with its last good config
  return reconcileEach(
    'metadata',
    intents,
    (i) => String(i.id),
    async (intent) => {
      await reconcileProxy(ctx, intent);
      return {};
    },
    (wanted) => sweep(ctx, wanted, served),
    METADATA_PROXY_STARTS,
  );
}
