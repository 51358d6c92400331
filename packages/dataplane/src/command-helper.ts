import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DataplaneError } from './errors.js';
import { ExecFileRunner, type CommandResult, type CommandRunner, type ExecFileRunnerOptions, type RunOptions } from './runner.js';

/** The script the helper process runs (command-helper-main.ts, built next to this file). */
export const COMMAND_HELPER_SCRIPT = path.join(__dirname, 'command-helper-main.js');

/** A command sent to the helper. */
export interface HelperRequest {
  readonly id: number;
  readonly argv: readonly string[];
  readonly options: RunOptions;
}

/** The helper's answer: what ExecFileRunner resolved with, or what it rejected with. */
export type HelperReply =
  | { readonly id: number; readonly result: CommandResult }
  | { readonly id: number; readonly error: { readonly message: string; readonly code?: string; readonly output?: string } };

interface Pending {
  readonly argv: readonly string[];
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** How much longer than a command's own timeout the helper may take to answer before it is taken for wedged. */
const HELPER_GRACE_MS = 5_000;

/**
 * Runs commands as ExecFileRunner does, but from a small helper process (forked on the first
 * command, again after it died). Starting a process forks the process that starts it, and a
 * fork costs in proportion to its memory: from an agent holding a host of thousands of ports
 * it took several times what it takes from the helper, and a pass starts several.
 *
 * A command whose helper died (or stopped answering) before it answered fails, as one that was
 * killed would: whether it ran is not known, and the next pass reads the kernel back.
 */
export class HelperRunner implements CommandRunner {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private readonly direct: ExecFileRunner;
  private readonly timeoutMs: number;

  constructor(
    private readonly options: ExecFileRunnerOptions = {},
    private readonly script = COMMAND_HELPER_SCRIPT,
  ) {
    this.direct = new ExecFileRunner(options);
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  listNetns(): Promise<string[]> {
    return this.direct.listNetns();
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (argv[0] === undefined || argv[0] === '') return this.direct.run(argv, options);
    const child = this.helper();
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.stop(child, `it did not answer within ${this.timeoutMs + HELPER_GRACE_MS} ms`), this.timeoutMs + HELPER_GRACE_MS);
      this.pending.set(id, { argv, resolve, reject, timer });
      const request: HelperRequest = { id, argv, options };
      child.send(request, (error) => {
        if (error) this.stop(child, `sending it the command failed: ${error.message}`);
      });
    });
  }

  /** The helper's process id while one runs (for logs and tests). */
  get helperPid(): number | undefined {
    return this.child?.pid;
  }

  /** Stops the helper; commands it has not answered fail. */
  close(): void {
    if (this.child !== undefined) this.stop(this.child, 'the runner was closed');
  }

  /** The running helper, forked if there is none. */
  private helper(): ChildProcess {
    if (this.child !== undefined) return this.child;
    const child = fork(this.script, [String(this.timeoutMs)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (reply: HelperReply) => this.answer(reply));
    child.on('exit', (code, signal) => this.gone(child, `it exited (${signal ?? `code ${String(code)}`})`));
    child.on('error', (error) => this.stop(child, error.message));
    // the helper does not keep the agent's process alive (a command's timer does, while it runs)
    child.unref();
    child.channel?.unref();
    this.child = child;
    return child;
  }

  private answer(reply: HelperReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.settle(reply.id, pending);
    if ('result' in reply) pending.resolve(reply.result);
    else if (reply.error.code === undefined) pending.reject(new Error(reply.error.message));
    else pending.reject(new DataplaneError(reply.error.code as DataplaneError['code'], reply.error.message, reply.error.output));
  }

  private settle(id: number, pending: Pending): void {
    clearTimeout(pending.timer);
    this.pending.delete(id);
  }

  private stop(child: ChildProcess, why: string): void {
    child.kill('SIGKILL');
    this.gone(child, why);
  }

  /** The helper is gone: what it had not answered fails, and the next command forks another. */
  private gone(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    for (const [id, pending] of this.pending) {
      this.settle(id, pending);
      pending.reject(
        new DataplaneError('DATAPLANE.COMMAND_FAILED', `\`${pending.argv.join(' ')}\` failed: the command helper stopped (${why}) before it answered`),
      );
    }
  }
}
