import path from 'node:path';
import { isValidId, isValidNetnsName, type DhcpServerIntent, type RaIntent } from '@ncp/contracts';
import { ipArgv } from '../argv.js';
import { netnsExecArgv } from '../l3/argv.js';
import { parseIpAddrJson } from '../l3/observed.js';
import { type CommandRunner } from '../runner.js';
import { awaitDaemon, runningDaemon, stopDaemon, type DaemonProgram, type DaemonTimings } from '../daemon/daemon.js';
import { dnsmasqArgv, hostsReloadSafe, leasesBackedByHosts, renderDhcpHosts, renderDhcpOpts } from './dnsmasq.js';
import { type DaemonHost } from '../daemon/host.js';
import { errorMessage, startDaemonPass } from '../daemon/items.js';
import { forgetSettledExcept, stillSettled, type SettledDaemons } from '../daemon/settled.js';
import { intentJson } from '../intent-groups.js';
import { assertStateDir } from '../daemon/state-dir.js';
import { dhcpServerDir, dhcpServerFiles, raDir, raFiles } from './paths.js';
import { acceptRaKey, daemonAction, planRaLinks, planServerLinks } from './plan.js';
import { radvdArgv, renderRadvdConf } from './radvd.js';

export interface DhcpOptions {
  /** e.g. `/var/lib/ncp-agent`: servers live in `<stateDir>/dhcp/<network id>/`, RAs in `<stateDir>/ra/<router id>/` */
  readonly stateDir: string;
  /** files, /proc and signals; the real machine by default */
  readonly host?: DaemonHost;
  readonly timings?: Partial<DaemonTimings>;
  /** the HA routers of this host: keepalived holds their RA source addresses (see `planRaLinks`) */
  readonly haRouterIds?: readonly string[];
  /**
   * Filled with the namespaces the pass changed: those it ran a link command in or deleted, and
   * those of its failed items. The metadata proxies, which bind in the same namespaces, follow
   * only these.
   */
  readonly changedNamespaces?: Set<string>;
  /**
   * The servers and RAs a pass found in place (see `SettledDaemon`), by item: their namespace's
   * addresses and sysctls are not read again while nothing of them changes.
   */
  readonly settled?: SettledDaemons;
}

export type DhcpItem = `dhcp:${string}` | `ra:${string}` | 'sweep';

/** The outcome of one item, shaped like `L3ItemResult`. */
export type DhcpItemResult =
  | { readonly item: DhcpItem; readonly ok: true; readonly warnings?: readonly string[] }
  | { readonly item: DhcpItem; readonly ok: false; readonly error: string };

interface Context {
  readonly stateDir: string;
  readonly haRouterIds: ReadonlySet<string>;
  readonly runner: CommandRunner;
  readonly host: DaemonHost;
  readonly timings: DaemonTimings;
  readonly netns: readonly string[];
  readonly changed: Set<string>;
  readonly settled: SettledDaemons | undefined;
}

const message = errorMessage;

/** Writes the file only when its content differs; true when it did. */
async function writeIfChanged(host: DaemonHost, file: string, content: string): Promise<boolean> {
  if ((await host.readFile(file)) === content) return false;
  await host.writeFileAtomic(file, content);
  return true;
}

/**
 * Brings one daemon to its desired command line and files: see `daemonAction`. The argv is
 * stored before the start, so a start that fails half-way is retried as a start (no process)
 * and one that succeeded is recognised after an agent restart. Returns the daemon's pid when it
 * was found running as wanted (nothing done), else null.
 */
async function converge(
  ctx: Context,
  program: DaemonProgram,
  files: { pidFile: string; cmdlineFile: string; logFile: string },
  argv: readonly string[],
  filesChanged: boolean,
  reloadSafe: boolean,
  /** runs after a stop and before the start (to edit files the daemon writes while it runs) */
  beforeStart?: () => Promise<void>,
): Promise<number | null> {
  const wantedCmdline = `${JSON.stringify(argv)}\n`;
  const argvChanged = (await ctx.host.readFile(files.cmdlineFile)) !== wantedCmdline;
  const pid = await runningDaemon(ctx.host, program, files.pidFile);
  const action = daemonAction(pid !== null, argvChanged, filesChanged, reloadSafe);
  if (action === 'none') return pid;
  if (action === 'reload') {
    if (pid !== null) ctx.host.signal(pid, 'SIGHUP');
    return null;
  }
  if (action === 'restart') await stopDaemon(ctx.host, program, files.pidFile, ctx.timings);
  if (argvChanged) await ctx.host.writeFileAtomic(files.cmdlineFile, wantedCmdline);
  await beforeStart?.();
  await ctx.runner.run(argv);
  await awaitDaemon(ctx.host, program, files.pidFile, ctx.timings, files.logFile);
  return null;
}

/** A sysctl of a namespace; null when the key does not exist (IPv6 disabled on the interface). */
async function readSysctl(ctx: Context, ns: string, key: string): Promise<string | null> {
  try {
    return (await ctx.runner.run(netnsExecArgv(ns, 'sysctl', '-n', key))).stdout.trim();
  } catch (error) {
    if (/cannot stat|No such file/i.test(message(error))) return null;
    throw error;
  }
}

async function reconcileServer(ctx: Context, intent: DhcpServerIntent): Promise<string[]> {
  const dir = dhcpServerDir(ctx.stateDir, intent.networkId);
  const files = dhcpServerFiles(dir);
  const argv = dnsmasqArgv(intent, dir);
  const hosts = renderDhcpHosts(intent);
  const opts = renderDhcpOpts(intent);
  const warnings = [...new Set([...hosts.portErrors, ...opts.portErrors].map((e) => `port ${e.portId} left out: ${e.error}`))];
  const item = `dhcp:${intent.networkId}`;
  const found = { namespace: intent.namespace, intent: intentJson(intent) };
  if (await stillSettled(ctx, item, found, 'dnsmasq', files.pidFile)) return warnings;
  if (!ctx.netns.includes(intent.namespace)) throw new Error(`namespace ${intent.namespace} does not exist yet (the L2 driver creates it with the DHCP port)`);

  const links = parseIpAddrJson((await ctx.runner.run(ipArgv(intent.namespace, '-j', 'addr', 'show'))).stdout);
  const acceptRa = links.some((l) => l.name === intent.ifname) ? await readSysctl(ctx, intent.namespace, acceptRaKey(intent.ifname)) : null;
  const steps = planServerLinks(intent, links, acceptRa);
  if (steps.length > 0) ctx.changed.add(intent.namespace);
  for (const step of steps) {
    try {
      await ctx.runner.run(step.argv);
    } catch (error) {
      throw new Error(`${step.why}: ${message(error)}`);
    }
  }

  await ctx.host.makeDir(dir);
  await writeIfChanged(ctx.host, files.namespaceFile, `${intent.namespace}\n`);
  const oldHosts = await ctx.host.readFile(files.hostsFile);
  const hostsChanged = await writeIfChanged(ctx.host, files.hostsFile, hosts.text);
  const optsChanged = await writeIfChanged(ctx.host, files.optsFile, opts.text);
  // Leases of removed ports must go (else their addresses stay taken for the next port that
  // gets them), which dnsmasq only does when restarted on a lease file without them; the file
  // is filtered again after the stop (dnsmasq writes it while running).
  const leases = await ctx.host.readFile(files.leaseFile);
  const staleLeases = leases !== null && leasesBackedByHosts(leases, hosts.text) !== leases;
  const dropStaleLeases = async () => {
    const current = await ctx.host.readFile(files.leaseFile);
    if (current !== null) await writeIfChanged(ctx.host, files.leaseFile, leasesBackedByHosts(current, hosts.text));
  };
  const pid = await converge(
    ctx,
    'dnsmasq',
    files,
    argv,
    hostsChanged || optsChanged || staleLeases,
    hostsReloadSafe(oldHosts, hosts.text) && !staleLeases,
    dropStaleLeases,
  );
  // a daemon started or signalled, or a link changed, now is read once more by the next pass
  if (pid !== null && steps.length === 0) ctx.settled?.set(item, { ...found, pid });
  return warnings;
}

async function reconcileRa(ctx: Context, intent: RaIntent): Promise<string[]> {
  const dir = raDir(ctx.stateDir, intent.routerId);
  const files = raFiles(dir);
  if (intent.interfaces.length === 0) {
    // a router without internal IPv6 subnets advertises nothing: no radvd at all
    await stopDaemon(ctx.host, 'radvd', files.pidFile, ctx.timings);
    await ctx.host.removeDir(dir);
    return [];
  }
  const conf = renderRadvdConf(intent);
  const argv = radvdArgv(intent, dir);
  const ha = ctx.haRouterIds.has(String(intent.routerId).toLowerCase());
  const item = `ra:${intent.routerId}`;
  const found = { namespace: intent.namespace, intent: `${intentJson(intent)} ha=${String(ha)}` };
  if (await stillSettled(ctx, item, found, 'radvd', files.pidFile)) return [];
  if (!ctx.netns.includes(intent.namespace)) throw new Error(`router namespace ${intent.namespace} does not exist yet (the L3 driver creates it)`);
  const links = parseIpAddrJson((await ctx.runner.run(ipArgv(intent.namespace, '-j', 'addr', 'show'))).stdout);
  const steps = planRaLinks(intent, links, ha);
  if (steps.length > 0) ctx.changed.add(intent.namespace);
  for (const step of steps) {
    try {
      await ctx.runner.run(step.argv);
    } catch (error) {
      throw new Error(`${step.why}: ${message(error)}`);
    }
  }

  await ctx.host.makeDir(dir);
  const confChanged = await writeIfChanged(ctx.host, files.confFile, conf);
  const pid = await converge(ctx, 'radvd', files, argv, confChanged, true);
  if (pid !== null && steps.length === 0) ctx.settled?.set(item, { ...found, pid });
  return [];
}

/** Stops the daemons of servers and RAs no intent names, deletes their DHCP namespaces and state. */
async function sweep(ctx: Context, servers: ReadonlySet<string>, ras: ReadonlySet<string>): Promise<void> {
  const failures: string[] = [];
  // only directories named by an id: anything else under the state dir is not ours to remove
  const stale = async (kind: string, wanted: ReadonlySet<string>): Promise<string[]> =>
    (await ctx.host.listDirs(path.posix.join(ctx.stateDir, kind))).filter((id) => isValidId(id) && id === id.toLowerCase() && !wanted.has(id));

  for (const id of await stale('dhcp', servers)) {
    const files = dhcpServerFiles(dhcpServerDir(ctx.stateDir, id));
    try {
      await stopDaemon(ctx.host, 'dnsmasq', files.pidFile, ctx.timings);
      // the namespace recorded by this agent's own server: other agents on the machine use
      // the same qdhcp- names for their networks, so a name alone proves nothing
      const ns = (await ctx.host.readFile(files.namespaceFile))?.trim() ?? '';
      if (isValidNetnsName(ns) && ctx.netns.includes(ns)) {
        ctx.changed.add(ns);
        await ctx.runner.run(['ip', 'netns', 'del', ns]);
      }
      await ctx.host.removeDir(files.dir);
    } catch (error) {
      failures.push(`DHCP server ${id}: ${message(error)}`);
    }
  }
  for (const id of await stale('ra', ras)) {
    const files = raFiles(raDir(ctx.stateDir, id));
    try {
      await stopDaemon(ctx.host, 'radvd', files.pidFile, ctx.timings);
      await ctx.host.removeDir(files.dir);
    } catch (error) {
      failures.push(`RA of router ${id}: ${message(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/**
 * Runs the DHCP servers (dnsmasq in each network's qdhcp- namespace) and router advertisements
 * (radvd in each router's namespace) of this host. Level-triggered and idempotent: everything
 * is read back (namespaces, addresses, state files, /proc), so a restarted agent adopts the
 * daemons it started before, and a converged host gets no mutating command and no signal.
 * `servers` and `ras` must be everything of this host: the state of any other is swept.
 *
 * Returns, in order, one result per server (`dhcp:<network id>`), one per RA intent
 * (`ra:<router id>`), then `sweep`. Ports left out of a server's hosts file are warnings of
 * its ok item.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid stateDir. A failure to list
 *   the namespaces is not thrown: every item is reported with it, to be retried.
 */
export async function reconcileDhcp(
  servers: readonly DhcpServerIntent[],
  ras: readonly RaIntent[],
  runner: CommandRunner,
  options: DhcpOptions,
): Promise<DhcpItemResult[]> {
  const stateDir = assertStateDir(options.stateDir);
  const items: DhcpItem[] = [...servers.map((s): DhcpItem => `dhcp:${String(s.networkId)}`), ...ras.map((r): DhcpItem => `ra:${String(r.routerId)}`), 'sweep'];

  const pass = await startDaemonPass(runner, options, items);
  if ('failed' in pass) return pass.failed;
  const changed = options.changedNamespaces ?? new Set<string>();
  const ctx: Context = {
    stateDir,
    runner,
    haRouterIds: new Set((options.haRouterIds ?? []).map((id) => id.toLowerCase())),
    changed,
    settled: options.settled,
    ...pass,
  };
  forgetSettledExcept(options.settled, new Set<string>(items));

  const results: DhcpItemResult[] = [];
  const run = async (item: DhcpItem, seen: Set<string>, id: string, task: () => Promise<string[]>, namespace: unknown): Promise<void> => {
    if (seen.has(id)) {
      results.push({ item, ok: false, error: `${item} is listed twice` });
      return;
    }
    seen.add(id);
    try {
      const warnings = await task();
      results.push(warnings.length > 0 ? { item, ok: true, warnings } : { item, ok: true });
    } catch (error) {
      if (typeof namespace === 'string') changed.add(namespace);
      results.push({ item, ok: false, error: message(error) });
    }
  };
  // a failing server or RA is still wanted: its daemon and state are kept for the retry
  const wantedServers = new Set<string>();
  for (const server of servers)
    await run(`dhcp:${String(server.networkId)}`, wantedServers, String(server.networkId).toLowerCase(), () => reconcileServer(ctx, server), server.namespace);
  const wantedRas = new Set<string>();
  for (const ra of ras) await run(`ra:${String(ra.routerId)}`, wantedRas, String(ra.routerId).toLowerCase(), () => reconcileRa(ctx, ra), ra.namespace);
  try {
    await sweep(ctx, wantedServers, wantedRas);
    results.push({ item: 'sweep', ok: true });
  } catch (error) {
    results.push({ item: 'sweep', ok: false, error: message(error) });
  }
  return results;
}
