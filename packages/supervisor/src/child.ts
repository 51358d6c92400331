import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { eachLine } from './output';

export interface ChildSpec {
  /** for messages */
  readonly name: string;
  readonly command: string;
  /** an argument array: never a shell */
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * A process group of its own: a Ctrl-C in the terminal then reaches only the supervisor,
   * which stops its children in order instead of all at once.
   */
  readonly detached?: boolean;
  /** each line it writes, on stdout or stderr */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** it could not be started */
  readonly error?: Error;
}

export function describeExit({ code, signal, error }: ExitStatus): string {
  return error ? error.message : signal ? `signal ${signal}` : `exit code ${code}`;
}

/** Why a process is not healthy yet, or null when it is. */
export type HealthCheck = (child: Child) => Promise<string | null>;

/**
 * Healthy when GET `url` answers 2xx with JSON whose `pid` is the child's: another process may
 * hold the port (an old child that did not die, another test's), so an answer from it does
 * not count. `anyPid`: any 2xx answer counts.
 */
export function httpHealth(url: string, options: { readonly anyPid?: boolean; readonly timeoutMs?: number } = {}): HealthCheck {
  return async (child) => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 2000) });
      const text = await res.text();
      if (!res.ok) return `HTTP ${res.status}: ${text.slice(0, 300)}`;
      if (options.anyPid) return null;
      let answeredBy: unknown;
      try {
        answeredBy = (JSON.parse(text) as { pid?: unknown }).pid;
      } catch {
        return `not JSON: ${text.slice(0, 300)}`;
      }
      return answeredBy === child.pid ? null : `answered by process ${String(answeredBy)}, not ${child.pid}`;
    } catch (e) {
      const cause = e instanceof Error ? (e.cause as { code?: string } | undefined)?.code : undefined;
      return cause ?? (e instanceof Error ? e.message : String(e));
    }
  };
}

/** One child process, spawned at construction, with its exit as a promise. */
export class Child {
  readonly process: ChildProcess;
  /** resolves when it has exited (or could not be started); never rejects */
  readonly exit: Promise<ExitStatus>;
  private hasExited = false;

  constructor(readonly spec: ChildSpec) {
    const child = spawn(spec.command, [...spec.args], { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: spec.detached ?? false });
    this.process = child;
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.hasExited = true;
        resolve({ code, signal });
      });
      child.once('error', (error) => {
        this.hasExited = true;
        resolve({ code: null, signal: null, error });
      });
    });
    const { onLine } = spec;
    if (onLine) {
      eachLine(child.stdout, (line) => onLine(line, 'stdout'));
      eachLine(child.stderr, (line) => onLine(line, 'stderr'));
    }
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get exited(): boolean {
    return this.hasExited;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.hasExited) return;
    try {
      this.process.kill(signal);
    } catch {
      // gone meanwhile
    }
  }

  /**
   * Sends `signal` (SIGTERM), then SIGKILL if it is still there after `graceMs`; resolves once
   * it has exited. `onKill` is told before the SIGKILL.
   */
  async stop(options: { readonly signal?: NodeJS.Signals; readonly graceMs?: number; readonly onKill?: () => void } = {}): Promise<ExitStatus> {
    if (this.hasExited) return this.exit;
    this.kill(options.signal ?? 'SIGTERM');
    const grace = new AbortController();
    const killed = sleep(options.graceMs ?? 10_000, undefined, { signal: grace.signal }).then(
      () => {
        if (this.hasExited) return;
        options.onKill?.();
        this.kill('SIGKILL');
      },
      () => undefined,
    );
    const status = await this.exit;
    grace.abort();
    await killed;
    return status;
  }

  /**
   * Waits until `check` finds it healthy (true), polling every `pollMs`. False when it exits
   * first or `cancelled()` turns true; throws when it is not healthy within `timeoutMs`.
   */
  async waitHealthy(
    check: HealthCheck,
    options: {
      readonly timeoutMs: number;
      readonly pollMs?: number;
      readonly cancelled?: () => boolean;
      /** where it is checked, for the error */ readonly at?: string;
    },
  ): Promise<boolean> {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const seen = new HealthHistory(started);
    while (Date.now() < deadline) {
      if (this.hasExited || options.cancelled?.()) return false;
      const why = await check(this);
      if (why === null) return !this.hasExited;
      seen.add(why, Date.now());
      await Promise.race([sleep(options.pollMs ?? 200), this.exit]);
    }
    throw new Error(`${this.spec.name} was not healthy${options.at ? ` at ${options.at}` : ''} within ${options.timeoutMs / 1000} s (${seen.describe()})`);
  }
}

/**
 * Why a process was not healthy, each answer once with how often and when (seconds after the
 * wait began): the last answer alone hides whether it never started, started and then hung, or
 * flapped.
 */
export class HealthHistory {
  /** Distinct answers kept; those after them are only counted, so the message stays readable. */
  static readonly KEPT = 8;
  private readonly answers = new Map<string, { count: number; first: number; last: number }>();
  private others = 0;
  private latest = 'no answer yet';

  constructor(private readonly started: number) {}

  add(why: string, at: number): void {
    const seconds = (at - this.started) / 1000;
    const seen = this.answers.get(why);
    if (seen) {
      seen.count++;
      seen.last = seconds;
    } else if (this.answers.size < HealthHistory.KEPT) this.answers.set(why, { count: 1, first: seconds, last: seconds });
    else this.others++;
    this.latest = why;
  }

  /** The last answer, then every answer: `why ×count at first-last s`. */
  describe(): string {
    if (this.answers.size === 0) return this.latest;
    const every = [...this.answers].map(
      ([why, { count, first, last }]) => `${why} ×${count} at ${first.toFixed(1)}${count > 1 ? `-${last.toFixed(1)}` : ''} s`,
    );
    if (this.others > 0) every.push(`${this.others} other answers`);
    return `${this.latest}; every answer: ${every.join(', ')}`;
  }
}

/** Runs a command to completion; rejects, with how it ended, unless it exits 0. */
export async function runToCompletion(spec: ChildSpec, track?: Set<Child>): Promise<void> {
  const child = new Child(spec);
  track?.add(child);
  const status = await child.exit;
  track?.delete(child);
  if (status.error) throw new Error(`${spec.name}: cannot run ${spec.command}: ${status.error.message}`);
  if (status.code !== 0) throw new Error(`${spec.name}: \`${[spec.command, ...spec.args].join(' ')}\` failed (${status.signal ?? `exit code ${status.code}`})`);
}
