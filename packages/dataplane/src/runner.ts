import { execFile } from 'node:child_process';
import { commandsOfBatch } from './batch.js';
import { DataplaneError } from './errors.js';

export interface CommandResult {
  readonly stdout: string;
}

export interface RunOptions {
  /** written to the command's stdin, which is then closed (e.g. a ruleset for `nft -f -`) */
  readonly input?: string;
}

/**
 * Runs one external command given as an argument vector (argv[0] is the program). The seam
 * between decisions and the kernel: tests pass a recording fake, the agent the real one.
 * `options` is optional so runners written before it existed still fit.
 */
export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
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

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined || file === '') {
      return Promise.reject(new DataplaneError('DATAPLANE.COMMAND_FAILED', 'empty command'));
    }
    return new Promise((resolve, reject) => {
      const child = execFile(
        file,
        args,
        { timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (error, stdout, stderr) => {
          if (error) {
            const detail = stderr.trim() || error.message;
            const timedOut = error.killed === true ? ` (killed after ${this.timeoutMs} ms)` : '';
            reject(new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${argv.join(' ')}\` failed${timedOut}: ${detail}`, stderr));
            return;
          }
          resolve({ stdout });
        },
      );
      if (options.input !== undefined && child.stdin !== null) {
        // A command that exits without reading its input makes the write fail with EPIPE; its
        // exit status (reported above) is what counts, so the stream error is only swallowed.
        child.stdin.on('error', () => undefined);
        child.stdin.end(options.input);
      }
    });
  }
}

/** The real runner, for callers that prefer a factory. */
export function execFileRunner(options: ExecFileRunnerOptions = {}): CommandRunner {
  return new ExecFileRunner(options);
}

/**
 * Wraps a runner and remembers every command it was given (for tests and dry-run logs): a
 * batch (`ip -n NS -batch -`) as the commands of its lines, which is what it stands for.
 */
export class RecordingRunner implements CommandRunner {
  readonly calls: string[][] = [];
  /** the argv of every process, a batch once */
  readonly processes: string[][] = [];

  constructor(private readonly inner: CommandRunner) {}

  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.processes.push([...argv]);
    this.calls.push(...(commandsOfBatch(argv, options?.input) ?? [[...argv]]));
    return this.inner.run(argv, options);
  }

  /** The recorded commands that could change something (everything but show/list reads). */
  mutatingCalls(): string[][] {
    return this.calls.filter((argv) => !isReadOnlyCommand(argv));
  }
}

/**
 * True for the read-backs the observers issue (`ip ... show`, `ip netns list`,
 * `bridge ... fdb show`, and inside a namespace `ip netns exec NS sysctl -n KEY...` and
 * `ip netns exec NS nft [-j] list ...`). Used to prove that a resync of a converged host
 * changes nothing.
 */
export function isReadOnlyCommand(argv: readonly string[]): boolean {
  const [tool] = argv;
  if (tool !== 'ip' && tool !== 'bridge') return false;
  const words = argv.filter((word, i) => i > 0 && !word.startsWith('-') && argv[i - 1] !== '-n');
  const [object, verb] = words;
  if (object === 'netns' && verb === 'exec' && tool === 'ip') return isReadOnlyInNetns(argv);
  if (object === 'netns') return verb === 'list' || verb === undefined;
  return verb === 'show' || verb === 'list';
}

/** `ip netns exec NS PROGRAM ARGS...`: only the two reads the L3 observer runs count. */
function isReadOnlyInNetns(argv: readonly string[]): boolean {
  const at = argv.indexOf('exec');
  const [program, ...args] = argv.slice(at + 2);
  if (program === 'sysctl') {
    return args.includes('-n') && args.every((a) => a === '-n' || (!a.startsWith('-') && !a.includes('=')));
  }
  if (program === 'nft') {
    const words = args.filter((a) => !a.startsWith('-'));
    return args.every((a) => a === '-j' || !a.startsWith('-')) && words[0] === 'list';
  }
  return false;
}
