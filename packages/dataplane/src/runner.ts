import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { commandsOfBatch } from './batch.js';
import { DataplaneError } from './errors.js';

export interface CommandResult {
  readonly stdout: string;
  /** set only with `allowFailure`, when the command ran and exited non-zero */
  readonly failure?: { readonly stderr: string };
}

export interface RunOptions {
  /** written to the command's stdin, which is then closed (e.g. a ruleset for `nft -f -`) */
  readonly input?: string;
  /**
   * A non-zero exit resolves with what the command printed (`failure`) instead of rejecting:
   * for a `-force` batch of reads, whose missing devices fail their lines but not the others.
   * A command that could not start or was killed still rejects.
   */
  readonly allowFailure?: boolean;
}

/**
 * Runs one external command given as an argument vector (argv[0] is the program). The seam
 * between decisions and the kernel: tests pass a recording fake, the agent the real one.
 * `options` is optional so runners written before it existed still fit.
 */
export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * The machine's named network namespaces, as `ip netns list` prints them, read without a
   * process. Optional: without it they are listed with `ip -j netns list`.
   */
  listNetns?(): Promise<string[]>;
}

/** Where `ip netns add` mounts a named namespace (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns';

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

  /**
   * What `ip netns list` does (the entries of /run/netns, no process): the listing was the
   * slowest read of a pass with many namespaces, as `ip -j` also asks each one for its id.
   */
  async listNetns(): Promise<string[]> {
    try {
      return await readdir(NETNS_RUN_DIR);
    } catch (error) {
      // no namespace was ever added on this machine
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
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
          if (error && options.allowFailure === true && typeof error.code === 'number' && error.killed !== true) {
            resolve({ stdout, failure: { stderr } });
            return;
          }
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

  readonly listNetns?: () => Promise<string[]>;

  constructor(private readonly inner: CommandRunner) {
    // a read, so it is not recorded; offered only when the inner runner offers it
    const list = inner.listNetns;
    if (list !== undefined) this.listNetns = () => list.call(inner);
  }

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
