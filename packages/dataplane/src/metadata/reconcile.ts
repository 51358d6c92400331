import path from 'node:path';
import { ipArgv } from '../argv.js';
import { DEFAULT_DAEMON_TIMINGS, awaitDaemon, runningDaemon, stopDaemon, type DaemonTimings } from '../dhcp/daemon.js';
import { NodeDaemonHost, type DaemonHost } from '../dhcp/host.js';
import { assertStateDir } from '../dhcp/paths.js';
import { errorMessage, reconcileEach, sweepStateDirs, type ItemResult } from '../daemon-items.js';
import { DataplaneError } from '../errors.js';
import { netnsExecArgv } from '../l3/argv.js';
import { parseIpAddrJson, type ObservedRouterLink } from '../l3/observed.js';
import { listNetns } from '../observe-support.js';
import { isReadOnlyCommand, type CommandRunner } from '../runner.js';
import { METADATA_IPV4, METADATA_IPV6, MetadataProxyIntentSchema, type MetadataProxyIntent } from './model.js';
import { METADATA_PROXY_SCRIPT, assertSocketPath, metadataProxyDir, metadataProxyFiles, type MetadataProxyFiles } from './paths.js';

export interface MetadataOptions {
  /** e.g. `/var/lib/ncp-agent`: proxies live in `<stateDir>/metadata/<router or network id>/` */
  readonly stateDir: string;
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
  readonly forwardSocket: string;
  readonly proxyCommand: readonly [string, string];
  readonly runner: CommandRunner;
  readonly host: DaemonHost;
  readonly timings: DaemonTimings;
  readonly netns: readonly string[];
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
 * What the namespace needs so the proxy is reachable: lo up with 169.254.169.254/32 (reached
 * through the router, or through the DHCP port by the host route DHCP hands out), and
 * fe80::a9fe:a9fe/64 on each interface towards the instances that is there (an unplugged one
 * is the L2/L3 drivers' to report). nodad: the address is the same on every router and DHCP
 * server, and a duplicate on a shared network must not disable it. Link scope: the L3 and DHCP
 * drivers remove only global addresses, so they leave it alone. Pure; empty means converged.
 */
export function planProxyAddresses(intent: MetadataProxyIntent, links: readonly ObservedRouterLink[]): MetadataStep[] {
  const ns = intent.namespace;
  const steps: MetadataStep[] = [];
  const lo = links.find((l) => l.name === 'lo');
  if (lo !== undefined && !lo.up) steps.push({ argv: ipArgv(ns, 'link', 'set', 'dev', 'lo', 'up'), why: 'bringing lo up' });
  if (!lo?.addresses.some((a) => a.cidr === V4)) steps.push({ argv: ipArgv(ns, 'addr', 'add', V4, 'dev', 'lo'), why: `adding ${V4} to lo` });
  for (const ifname of intent.interfaces) {
    const link = links.find((l) => l.name === ifname);
    const address = link?.addresses.find((a) => a.cidr === V6);
    if (link === undefined || (address !== undefined && !address.dadFailed)) continue;
    if (address !== undefined) steps.push({ argv: ipArgv(ns, 'addr', 'del', V6, 'dev', ifname), why: `${V6} failed DAD on ${ifname}: removing it to add it again` });
    steps.push({ argv: ipArgv(ns, 'addr', 'add', V6, 'dev', ifname, 'nodad'), why: `adding ${V6} to ${ifname}` });
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
  if (!ctx.netns.includes(ns)) {
    // a proxy of ours still running serves a namespace that was deleted: it goes, and a new
    // one starts when the namespace is back
    await stopDaemon(ctx.host, 'metadata-proxy', files.pidFile, ctx.timings);
    throw new Error(`namespace ${ns} does not exist yet (the ${intent.kind === 'router' ? 'L3' : 'L2'} driver creates it)`);
  }

  // the proxy starts even when an address cannot be added (IPv6 off on an interface must not
  // cost the IPv4 service); the item still reports what failed
  const failures: string[] = [];
  const links = parseIpAddrJson((await ctx.runner.run(ipArgv(ns, '-j', 'addr', 'show'))).stdout);
  for (const step of planProxyAddresses(intent, links)) {
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
}

/**
 * Stops the proxies no intent names and removes their state. Their namespace's addresses stay:
 * a router or DHCP server that goes is deleted with its namespace anyway, and one that stays
 * answers on 169.254.169.254:80 with a refused connection.
 */
async function sweep(ctx: Context, wanted: ReadonlySet<string>): Promise<void> {
  await sweepStateDirs(ctx.host, path.posix.join(ctx.stateDir, 'metadata'), wanted, 'metadata proxy', async (id) => {
    const files = metadataProxyFiles(metadataProxyDir(ctx.stateDir, id));
    await stopDaemon(ctx.host, 'metadata-proxy', files.pidFile, ctx.timings);
    await ctx.host.removeDir(files.dir);
  });
}

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
export async function reconcileMetadata(intents: readonly MetadataProxyIntent[], runner: CommandRunner, options: MetadataOptions): Promise<MetadataItemResult[]> {
  const stateDir = assertStateDir(options.stateDir);
  const forwardSocket = assertSocketPath(options.forwardSocket);
  const proxyCommand = options.proxyCommand ?? [process.execPath, path.join(__dirname, METADATA_PROXY_SCRIPT)];
  if (!proxyCommand.every((p) => path.isAbsolute(p))) throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `proxyCommand must be absolute paths, got ${proxyCommand.join(' ')}`);
  const host = options.host ?? new NodeDaemonHost();
  const timings = { ...DEFAULT_DAEMON_TIMINGS, ...options.timings };
  const items: MetadataItem[] = [...intents.map((i): MetadataItem => `metadata:${String(i.id)}`), 'sweep'];

  let netns: string[];
  try {
    netns = await listNetns(runner);
  } catch (error) {
    const failure = `reading the namespaces failed: ${message(error)}`;
    return items.map((item) => ({ item, ok: false, error: failure }));
  }
  const ctx: Context = { stateDir, forwardSocket, proxyCommand, runner, host, timings, netns };

  // a failing proxy is still wanted: it keeps serving with its last good config
  return reconcileEach(
    'metadata',
    intents,
    (i) => String(i.id),
    async (intent) => {
      await reconcileProxy(ctx, intent);
      return {};
    },
    (wanted) => sweep(ctx, wanted),
  );
}
