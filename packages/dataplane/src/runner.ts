import { execFile } from 'node:child_process';
import { DataplaneError } from './errors.js';

export interface CommandResult {
  readonly stdout: string;
}

/**
 * Runs one external command given as an argument vector (argv[0] is the program). The seam
 * between decisions and the kernel: tests pass a recording fake, the agent the real one.
 */
export interface CommandRunner {
  run(argv: readonly string[]): Promise<CommandResult>;
}

export interface ExecFileRunnerOptions {
  /** Kill a command that takes longer (a wedged netlink call must not hang the agent). */
  readonly timeoutMs?: number;
}

/** The real runner: `execFile(argv[0], argv.slice(1))`, never a shell. */
export class ExecFileRunner implements CommandRunner {
  private readonly timeoutMs: number;

  constructor(options: ExecFileRunnerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  run(argv: readonly string[]): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined || file === '') {
      return Promise.reject(new DataplaneError('DATAPLANE.COMMAND_FAILED', 'empty command'));
    }
    return new Promise((resolve, reject) => {
      execFile(
        file,
        args,
        { timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (error) {
            const detail = stderr.trim() || error.message;
            const timedOut = error.killed === true ? ` (killed after ${this.timeoutMs} ms)` : '';
            reject(new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${argv.join(' ')}\` failed${timedOut}: ${detail}`));
            return;
          }
          resolve({ stdout });
        },
      );
    });
  }
}

/** The real runner, for callers that prefer a factory. */
export function execFileRunner(options: ExecFileRunnerOptions = {}): CommandRunner {
  return new ExecFileRunner(options);
}

/** Wraps a runner and remembers every argv it was given (for tests and dry-run logs). */
export class RecordingRunner implements CommandRunner {
  readonly calls: string[][] = [];

  constructor(private readonly inner: CommandRunner) {}

  run(argv: readonly string[]): Promise<CommandResult> {
    this.calls.push([...argv]);
    return this.inner.run(argv);
  }

  /** The recorded commands that could change something (everything but show/list reads). */
  mutatingCalls(): string[][] {
    return this.calls.filter((argv) => !isReadOnlyCommand(argv));
  }
}

/**
 * True for the read-backs the observer issues (`ip ... show`, `ip netns list`,
 * `bridge ... fdb show`). Used to prove that a resync of a converged host changes nothing.
 */
export function isReadOnlyCommand(argv: readonly string[]): boolean {
  const [tool] = argv;
  if (tool !== 'ip' && tool !== 'bridge') return false;
  const words = argv.filter((word, i) => i > 0 && !word.startsWith('-') && argv[i - 1] !== '-n');
  const [object, verb] = words;
  if (object === 'netns') return verb === 'list' || verb === undefined;
  return verb === 'show' || verb === 'list';
}
