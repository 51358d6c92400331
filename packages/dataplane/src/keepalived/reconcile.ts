import path from 'node:path';
import { type RouterIntent } from '@ncp/contracts';
import { ipArgv } from '../argv.js';
import { DEFAULT_DAEMON_TIMINGS, awaitDaemon, runningDaemon, stopDaemon, type DaemonTimings } from '../daemon/daemon.js';
import { NodeDaemonHost, type DaemonHost } from '../daemon/host.js';
import { errorMessage, sweepStateDirs } from '../daemon/items.js';
import { assertStateDir } from '../daemon/state-dir.js';
import { daemonAction } from '../dhcp/plan.js';
import { parseIpAddrJson } from '../l3/observed.js';
import { type CommandRunner } from '../runner.js';
import {
  haStateOf,
  keepalivedArgv,
  keepalivedRouter,
  parseLinkDetails,
  planHaLinks,
  planLegacyLinks,
  renderKeepalivedConf,
  type HaLinkStep,
  type HaState,
} from './conf.js';
import { keepalivedDir, keepalivedFiles } from './paths.js';

/** Where and how the L3 driver runs the keepalived of HA routers. */
export interface KeepalivedOptions {
  /** e.g. `/var/lib/ncp-agent`: each HA router's keepalived lives in `<stateDir>/keepalived/<router id>/` */
  readonly stateDir: string;
  /** files, /proc and signals; the real machine by default */
  readonly host?: DaemonHost;
  readonly timings?: Partial<DaemonTimings>;
}

export interface KeepalivedContext {
  readonly stateDir: string;
  readonly runner: CommandRunner;
  readonly host: DaemonHost;
  readonly timings: DaemonTimings;
}

/** @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid stateDir */
export function keepalivedContext(runner: CommandRunner, options: KeepalivedOptions): KeepalivedContext {
  return {
    stateDir: assertStateDir(options.stateDir),
    runner,
    host: options.host ?? new NodeDaemonHost(),
    timings: { ...DEFAULT_DAEMON_TIMINGS, ...options.timings },
  };
}

/** What the status reports say when keepalived's state cannot be read. */
const NOT_RUNNING = 'the system log';

/** Whether the process runs in the named namespace, not in one deleted (and maybe made again) since it started. */
async function inNamespace(ctx: KeepalivedContext, pid: number, ns: string): Promise<boolean> {
  try {
    return (await ctx.runner.run(['ip', 'netns', 'identify', String(pid)])).stdout.split('\n').some((name) => name.trim() === ns);
  } catch {
    return false;
  }
}

/**
 * Brings the keepalived of one HA router to its intent and returns this host's role. The
 * router's namespace must exist (the L3 driver made it). The qr-/qg- interfaces lose their
 * kernel link-local addresses first (see `planHaLinks`). Then keepalived: started when not
 * running (or running in a namespace that was deleted meanwhile), restarted when its command
 * line changed, reloaded with SIGHUP when only its configuration changed (it keeps its VRRP
 * state: a master stays master), left alone otherwise. Everything is read back (pid file,
 * /proc, the namespace), so an agent restart adopts the running keepalived.
 */
export async function convergeKeepalived(ctx: KeepalivedContext, intent: RouterIntent): Promise<HaState> {
  const ns = intent.namespace;
  const details = parseLinkDetails((await ctx.runner.run(ipArgv(ns, '-d', '-j', 'link', 'show'))).stdout);
  const macs = new Map(details.flatMap((d) => (d.mac === null ? [] : [[d.name, d.mac] as const])));
  const router = keepalivedRouter(intent, macs);
  await runSteps(ctx, planHaLinks(router, details));

  const files = keepalivedFiles(keepalivedDir(ctx.stateDir, router.routerId));
  const argv = keepalivedArgv(ns, files);
  const conf = renderKeepalivedConf(router);
  await ctx.host.makeDir(files.dir);
  const wantedCmdline = `${JSON.stringify(argv)}\n`;
  const argvChanged = (await ctx.host.readFile(files.cmdlineFile)) !== wantedCmdline;
  const confChanged = (await ctx.host.readFile(files.confFile)) !== conf;
  let pid = await runningDaemon(ctx.host, 'keepalived', files.pidFile);
  if (pid !== null && !(await inNamespace(ctx, pid, ns))) {
    await stopDaemon(ctx.host, 'keepalived', files.pidFile, ctx.timings);
    pid = null;
  }
  if (confChanged) await ctx.host.writeFileAtomic(files.confFile, conf);
  const action = daemonAction(pid !== null, argvChanged, confChanged);
  if (action === 'reload' && pid !== null) ctx.host.signal(pid, 'SIGHUP');
  if (action === 'restart') await stopDaemon(ctx.host, 'keepalived', files.pidFile, ctx.timings);
  if (action === 'start' || action === 'restart') {
    if (argvChanged) await ctx.host.writeFileAtomic(files.cmdlineFile, wantedCmdline);
    await ctx.runner.run(argv);
    await awaitDaemon(ctx.host, 'keepalived', files.pidFile, ctx.timings, NOT_RUNNING);
  }
  const links = parseIpAddrJson((await ctx.runner.run(ipArgv(ns, '-j', 'addr', 'show'))).stdout);
  return haStateOf(links, router.haIfname, router.primaryVip);
}

async function runSteps(ctx: KeepalivedContext, steps: readonly HaLinkStep[]): Promise<void> {
  for (const step of steps) {
    try {
      await ctx.runner.run(step.argv);
    } catch (error) {
      throw new Error(`${step.why}: ${errorMessage(error)}`);
    }
  }
}

/**
 * Stops the keepalived of every router under `<stateDir>/keepalived` that `wanted` (lower-case
 * router ids) does not name, and removes its files. SIGTERM: keepalived releases its addresses
 * and sends a priority 0 advert, so the other host takes over at once. Runs before the L3
 * driver sweeps a namespace (a daemon would keep a deleted namespace alive). A router that
 * stays here as a legacy router (in `legacy`, by lower-case id) gets its interfaces' kernel
 * link-local addresses back before its files go (they mark the work as not done yet).
 */
export async function sweepKeepalived(
  ctx: KeepalivedContext,
  wanted: ReadonlySet<string>,
  legacy: ReadonlyMap<string, RouterIntent> = new Map(),
): Promise<void> {
  await sweepStateDirs(ctx.host, path.posix.join(ctx.stateDir, 'keepalived'), wanted, 'keepalived of router', async (id) => {
    const files = keepalivedFiles(keepalivedDir(ctx.stateDir, id));
    await stopDaemon(ctx.host, 'keepalived', files.pidFile, ctx.timings);
    const router = legacy.get(id);
    if (router !== undefined) {
      // a namespace not made yet has nothing to give back
      const listed = await ctx.runner.run(ipArgv(router.namespace, '-d', '-j', 'link', 'show')).catch(() => null);
      if (listed !== null) {
        const ifnames = router.interfaces.map((i) => i.ifname);
        await runSteps(ctx, planLegacyLinks(router.namespace, ifnames, parseLinkDetails(listed.stdout)));
      }
    }
    await ctx.host.removeDir(files.dir);
  });
}
