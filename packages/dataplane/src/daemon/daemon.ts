import path from 'node:path';
import { DataplaneError } from '../errors.js';
import { type DaemonHost } from './host.js';

export type DaemonProgram = 'dnsmasq' | 'radvd' | 'bird' | 'keepalived' | 'metadata-proxy';

/** The proxy's entry point in dist/metadata/: its basename is how /proc/<pid>/cmdline tells our proxy from other node processes. */
export const METADATA_PROXY_SCRIPT = 'proxy-main.js';

/** Polling steps and limits, injectable so unit tests do not wait. */
export interface DaemonTimings {
  /** how long a stopped daemon gets after SIGTERM before SIGKILL */
  readonly stopGraceMs: number;
  /** how long a started daemon gets to write its pid file */
  readonly startWaitMs: number;
  readonly pollMs: number;
}

export const DEFAULT_DAEMON_TIMINGS: DaemonTimings = { stopGraceMs: 3_000, startWaitMs: 5_000, pollMs: 50 };

/**
 * Whether a process's argv is our daemon for this pid file: the program, and our pid-file
 * path among its arguments (dnsmasq `--pid-file=<path>`, radvd and keepalived `-p <path>`, bird `-P <path>`). A pid file can
 * outlive its process and the pid be reused by anything; only this check makes a signal safe.
 * The metadata proxy is a node script: argv[0] is node (whichever binary), so its script's
 * name stands for the program.
 */
export function isOurDaemon(argv: readonly string[] | null, program: DaemonProgram, pidFile: string): boolean {
  if (argv === null || argv.length === 0) return false;
  const [first = '', second = ''] = argv;
  if (program === 'metadata-proxy') return path.posix.basename(second) === METADATA_PROXY_SCRIPT && argv.includes(`--pid-file=${pidFile}`);
  if (path.posix.basename(first) !== program) return false;
  if (argv.includes(`--pid-file=${pidFile}`)) return true;
  const flags = program === 'bird' ? ['-P'] : ['-p', '--pidfile'];
  return argv.some((arg, i) => flags.includes(arg) && argv[i + 1] === pidFile);
}

function parsePid(text: string | null): number | null {
  if (text === null) return null;
  const match = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = match?.[1] === undefined ? NaN : Number(match[1]);
  return Number.isSafeInteger(pid) && pid > 1 ? pid : null;
}

/** The pid of our running daemon, or null (no pid file, or its pid is not ours any more). */
export async function runningDaemon(host: DaemonHost, program: DaemonProgram, pidFile: string): Promise<number | null> {
  const pid = parsePid(await host.readFile(pidFile));
  if (pid === null) return null;
  return isOurDaemon(await host.processArgv(pid), program, pidFile) ? pid : null;
}

async function waitUntil(host: DaemonHost, timeoutMs: number, pollMs: number, done: () => Promise<boolean>): Promise<boolean> {
  for (let waited = 0; ; waited += pollMs) {
    if (await done()) return true;
    if (waited >= timeoutMs) return false;
    await host.sleep(pollMs);
  }
}

/**
 * Stops our daemon if it runs: SIGTERM, then SIGKILL after the grace time. Every signal is
 * preceded by the identity check, so a pid recycled meanwhile is never hit. Resolves once the
 * process has finished exiting, not merely once its cmdline is gone (that happens first):
 * until then it still holds its sockets, and a successor could not bind them, nor should a
 * client still reach it.
 *
 * @throws DataplaneError `DATAPLANE.COMMAND_FAILED` when it is still there after SIGKILL
 */
export async function stopDaemon(host: DaemonHost, program: DaemonProgram, pidFile: string, timings: DaemonTimings): Promise<boolean> {
  const pid = await runningDaemon(host, program, pidFile);
  if (pid === null) return false;
  const exited = () => host.processExited(pid);
  host.signal(pid, 'SIGTERM');
  if (await waitUntil(host, timings.stopGraceMs, timings.pollMs, exited)) return true;
  if (isOurDaemon(await host.processArgv(pid), program, pidFile)) host.signal(pid, 'SIGKILL');
  if (await waitUntil(host, timings.stopGraceMs, timings.pollMs, exited)) return true;
  throw new DataplaneError('DATAPLANE.COMMAND_FAILED', `${program} (pid ${pid}) did not stop after SIGKILL`);
}

/**
 * Waits for a daemon just started to show up in its pid file. Both daemons fork: the command
 * returns before (radvd) or right after (dnsmasq) the child writes the file, and a second
 * reconcile must not start another one in the gap.
 *
 * @throws DataplaneError `DATAPLANE.COMMAND_FAILED` when it does not appear
 */
export async function awaitDaemon(host: DaemonHost, program: DaemonProgram, pidFile: string, timings: DaemonTimings, logFile: string): Promise<number> {
  for (let waited = 0; ; waited += timings.pollMs) {
    const pid = await runningDaemon(host, program, pidFile);
    if (pid !== null) return pid;
    if (waited >= timings.startWaitMs) break;
    await host.sleep(timings.pollMs);
  }
  throw new DataplaneError('DATAPLANE.COMMAND_FAILED', `${program} did not start (no live process for ${pidFile}; see ${logFile})`);
}
