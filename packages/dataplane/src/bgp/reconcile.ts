import path from 'node:path';
import { isValidNetnsName, type BgpSpeakerIntent } from '@ncp/contracts';
import { awaitDaemon, runningDaemon, stopDaemon, type DaemonTimings } from '../daemon/daemon.js';
import { type DaemonHost } from '../daemon/host.js';
import { assertStateDir } from '../daemon/state-dir.js';
import { errorMessage, reconcileEach, startDaemonPass, sweepStateDirs, type ItemResult } from '../daemon/items.js';
import { DataplaneError } from '../errors.js';
import { isReadOnlyCommand, type CommandRunner } from '../runner.js';
import { birdArgv, birdcArgv, checkBgpSpeaker, renderBirdConf } from './bird.js';
import { bgpPeerProtocol } from './model.js';
import { bgpSpeakerDir, bgpSpeakerFiles, type BgpSpeakerFiles } from './paths.js';
import { formatCidr, normalizeIp, parseCidr, parseIp } from '@ncp/netaddr';
import { MAX_LEARNED_REPORTED, parseBirdProtocols, parseBirdRoutes, type BgpLearnedRoute, type BgpSessionState, type BirdRoute } from './status.js';

export interface BgpOptions {
  /** e.g. `/var/lib/ncp-agent`: speakers live in `<stateDir>/bgp/<speaker id>/` */
  readonly stateDir: string;
  /** where a speaker with `namespace: null` runs BIRD: the agent's `--host-netns`; null/absent: the agent's own namespace */
  readonly hostNetns?: string | null;
  /** files, /proc and signals; the real machine by default */
  readonly host?: DaemonHost;
  readonly timings?: Partial<DaemonTimings>;
}

export type BgpItem = `bgp:${string}` | 'sweep';

/** The outcome of one item, shaped like `DhcpItemResult`; an ok speaker carries its peers' sessions. */
export type BgpItemResult = ItemResult<'bgp', { readonly sessions: readonly BgpSessionState[]; readonly warnings?: readonly string[] }>;

/** The mode of bird.conf: it holds the MD5 passwords. */
const CONF_MODE = 0o600;

/**
 * True for the commands the BGP driver only reads with: the `ip` read-backs and
 * `birdc -s <socket> show ...`. Used to prove that a converged speaker gets no mutating command.
 */
export function isBgpReadOnlyCommand(argv: readonly string[]): boolean {
  if (argv[0] === 'birdc') return argv[1] === '-s' && argv[3] === 'show';
  return isReadOnlyCommand(argv);
}

interface Context {
  readonly stateDir: string;
  readonly hostNetns: string | null;
  readonly runner: CommandRunner;
  readonly host: DaemonHost;
  readonly timings: DaemonTimings;
  readonly netns: readonly string[];
}

const message = errorMessage;

/** The lines of birdc's answer that say the new configuration is taken (BIRD replies 0003/0004/0005). */
const RECONFIGURED = /^(Reconfigured|Reconfiguration in progress|Reconfiguration already in progress, queueing new config)\s*$/m;

/**
 * Makes BIRD run `conf`. Not running: write the file and start it (after a stop when its
 * command line changed). Running with another configuration: check the new one with
 * `bird -p` (its errors go to stderr, which the runner reports; birdc prints them on stdout
 * and exits 1), then replace the file and `birdc configure`; if BIRD refuses, the previous
 * file is put back (BIRD keeps running the previous configuration), so the next pass tries
 * again. Unchanged: nothing.
 */
async function converge(ctx: Context, files: BgpSpeakerFiles, argv: readonly string[], conf: string): Promise<void> {
  const wantedCmdline = `${JSON.stringify(argv)}\n`;
  const argvChanged = (await ctx.host.readFile(files.cmdlineFile)) !== wantedCmdline;
  const oldConf = await ctx.host.readFile(files.confFile);
  let pid = await runningDaemon(ctx.host, 'bird', files.pidFile);
  if (pid !== null && argvChanged) {
    await stopDaemon(ctx.host, 'bird', files.pidFile, ctx.timings);
    pid = null;
  }
  if (pid === null) {
    if (oldConf !== conf) await ctx.host.writeFileAtomic(files.confFile, conf, CONF_MODE);
    if (argvChanged) await ctx.host.writeFileAtomic(files.cmdlineFile, wantedCmdline);
    await ctx.runner.run(argv);
    await awaitDaemon(ctx.host, 'bird', files.pidFile, ctx.timings, files.logFile);
    return;
  }
  if (oldConf === conf) return;
  await ctx.host.writeFileAtomic(files.candidateFile, conf, CONF_MODE);
  try {
    await ctx.runner.run(['bird', '-p', '-c', files.candidateFile]);
  } catch (error) {
    throw new Error(`the new configuration is refused, BIRD keeps the old one: ${message(error)}`);
  }
  await ctx.host.writeFileAtomic(files.confFile, conf, CONF_MODE);
  let answer: string;
  try {
    answer = (await ctx.runner.run(birdcArgv(files.ctlSocket, 'configure'))).stdout;
  } catch (error) {
    answer = message(error);
  }
  if (!RECONFIGURED.test(answer)) {
    if (oldConf !== null) await ctx.host.writeFileAtomic(files.confFile, oldConf, CONF_MODE);
    throw new Error(`birdc configure did not reconfigure BIRD (it keeps the old configuration): ${answer.trim()}`);
  }
}

const learns = (peer: BgpSpeakerIntent['peers'][number]) => peer.importPolicy.acceptDefaultRoute || peer.importPolicy.acceptedPrefixes.length > 0;

/**
 * The routes of one peer's protocol as reported: valid destinations and next hops of the
 * peer's family, in their normal form, sorted (destination, next hop), at most
 * `MAX_LEARNED_REPORTED`. Pure.
 */
export function learnedRoutes(routes: readonly BirdRoute[], protocol: string, peerAddress: string): { learned: BgpLearnedRoute[]; total: number } {
  const version = parseIp(peerAddress).version;
  const learned: BgpLearnedRoute[] = [];
  const ofPeer = routes.filter((r) => r.protocol === protocol);
  for (const r of ofPeer) {
    try {
      const cidr = parseCidr(r.destination, { strict: true });
      if (r.nextHop === null || cidr.version !== version || parseIp(r.nextHop).version !== version) continue;
      learned.push({ destination: formatCidr(cidr), nextHop: normalizeIp(r.nextHop), asPath: r.asPath, med: r.med, localPref: r.localPref, best: r.best });
    } catch {
      continue; // a line we misread: not reported
    }
  }
  learned.sort((a, b) => (a.destination === b.destination ? a.nextHop.localeCompare(b.nextHop) : a.destination.localeCompare(b.destination)));
  return { learned: learned.slice(0, MAX_LEARNED_REPORTED), total: ofPeer.length };
}

/**
 * The sessions of the speaker's peers, in intent order, from `birdc show protocols all`; for
 * an Established session of a peer the speaker learns from, what it learned
 * (`birdc show route protocol <peer> all`).
 */
async function sessions(ctx: Context, intent: BgpSpeakerIntent, files: BgpSpeakerFiles): Promise<BgpSessionState[]> {
  const protocols = parseBirdProtocols((await ctx.runner.run(birdcArgv(files.ctlSocket, 'show', 'protocols', 'all'))).stdout);
  const states: BgpSessionState[] = [];
  for (const peer of intent.peers) {
    const name = bgpPeerProtocol(peer.id);
    const proto = protocols.find((p) => p.name === name);
    if (proto === undefined) {
      states.push({ peerId: peer.id, state: 'Unknown', since: null, exported: null, lastError: null, learned: [], learnedTotal: 0 });
      continue;
    }
    const state = proto.state === 'down' ? 'Down' : (proto.bgpState ?? 'Unknown');
    // BIRD is asked only when it holds routes of the peer: a session that learns nothing costs one command
    const { learned, total } =
      learns(peer) && state === 'Established' && proto.imported !== 0
        ? learnedRoutes(
            parseBirdRoutes((await ctx.runner.run(birdcArgv(files.ctlSocket, 'show', 'route', 'protocol', name, 'all'))).stdout),
            name,
            peer.address,
          )
        : { learned: [], total: 0 };
    states.push({ peerId: peer.id, state, since: proto.since, exported: proto.exported, lastError: proto.lastError, learned, learnedTotal: total });
  }
  return states;
}

async function reconcileSpeaker(ctx: Context, speaker: BgpSpeakerIntent): Promise<{ sessions: BgpSessionState[]; warnings: string[] }> {
  const intent = checkBgpSpeaker(speaker);
  const dir = bgpSpeakerDir(ctx.stateDir, intent.speakerId);
  const files = bgpSpeakerFiles(dir);
  const conf = renderBirdConf(intent, files);
  const argv = birdArgv(intent, dir, ctx.hostNetns);
  const ns = intent.namespace ?? ctx.hostNetns;
  if (ns !== null && !ctx.netns.includes(ns)) throw new Error(`namespace ${ns} does not exist`);

  await ctx.host.makeDir(dir);
  await converge(ctx, files, argv, conf);
  try {
    return { sessions: await sessions(ctx, intent, files), warnings: [] };
  } catch (error) {
    // BIRD runs the configuration; only its state could not be read (e.g. it is still starting)
    return {
      sessions: intent.peers.map((p) => ({ peerId: p.id, state: 'Unknown', since: null, exported: null, lastError: null, learned: null, learnedTotal: null })),
      warnings: [`reading the sessions failed: ${message(error)}`],
    };
  }
}

/**
 * Stops the BIRD of every speaker no intent names and removes its state directory. SIGTERM is
 * BIRD's graceful shutdown (as `birdc down`): every session is closed with a BGP Cease, so the
 * peers withdraw the routes at once instead of at the hold timer's end. The signal follows the
 * pid-file + /proc/<pid>/cmdline identity check, so a stale pid file never hits another process.
 */
async function sweep(ctx: Context, wanted: ReadonlySet<string>): Promise<void> {
  await sweepStateDirs(ctx.host, path.posix.join(ctx.stateDir, 'bgp'), wanted, 'BGP speaker', async (id) => {
    const files = bgpSpeakerFiles(bgpSpeakerDir(ctx.stateDir, id));
    await stopDaemon(ctx.host, 'bird', files.pidFile, ctx.timings);
    await ctx.host.removeDir(files.dir);
  });
}

/**
 * Runs the BGP speakers of this host: one BIRD 2 per speaker, in its namespace (or the agent's
 * host namespace), advertising exactly the intent's routes to its peers. Level-triggered and
 * idempotent: state files, /proc and BIRD itself are read back, so a restarted agent adopts the
 * BIRDs it started before (pid file + cmdline check), and a converged speaker gets no mutating
 * command (only `birdc show protocols all`). A changed configuration is applied with
 * `birdc configure`, which keeps the sessions whose settings did not change. `speakers` must
 * be everything of this host: any other speaker's BIRD is stopped and its state removed.
 *
 * Returns, in order, one result per speaker (`bgp:<speaker id>`, with its peers' sessions when
 * ok), then `sweep`.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid stateDir or hostNetns. A
 *   failure to list the namespaces is not thrown: every item is reported with it.
 */
export async function reconcileBgp(speakers: readonly BgpSpeakerIntent[], runner: CommandRunner, options: BgpOptions): Promise<BgpItemResult[]> {
  const stateDir = assertStateDir(options.stateDir);
  const hostNetns = options.hostNetns ?? null;
  if (hostNetns !== null && !isValidNetnsName(hostNetns))
    throw new DataplaneError('DATAPLANE.INVALID_CONFIG', `hostNetns '${hostNetns}' is not a namespace name`);
  const items: BgpItem[] = [...speakers.map((s): BgpItem => `bgp:${String(s.speakerId)}`), 'sweep'];

  const pass = await startDaemonPass(runner, options, items);
  if ('failed' in pass) return pass.failed;
  const ctx: Context = { stateDir, hostNetns, runner, ...pass };

  // a failing speaker is still wanted: its BIRD keeps running the last good configuration
  return reconcileEach(
    'bgp',
    speakers,
    (s) => String(s.speakerId),
    async (speaker) => {
      const { sessions: state, warnings } = await reconcileSpeaker(ctx, speaker);
      return warnings.length > 0 ? { sessions: state, warnings } : { sessions: state };
    },
    (wanted) => sweep(ctx, wanted),
  );
}
