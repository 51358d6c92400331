import { setTimeout as sleep } from 'node:timers/promises';
import { Child, describeExit, runToCompletion, type ChildSpec, type HealthCheck } from './child';
import { onServiceExit, type RestartPolicy } from './restart-policy';

export interface ServiceSpec extends ChildSpec {
  /** polled until it passes, or null for a service without one (then it only has to stay up for `settleMs`) */
  readonly health: HealthCheck | null;
  /** where `health` looks, for messages */
  readonly healthAt?: string;
  /** default 1000 */
  readonly settleMs?: number;
  /** restarted when it exits on its own once ready; without a policy it is not */
  readonly restart?: RestartPolicy;
}

export interface SupervisorOptions {
  /** the supervisor's own messages */
  readonly log: (message: string) => void;
  readonly healthTimeoutMs: number;
  /** how long a stopped service has between SIGTERM and SIGKILL */
  readonly stopGraceMs: number;
  /** A service was restarted `restart.maxRestarts` times in a row without staying healthy (or exited with maxRestarts 0). */
  readonly onGiveUp: (reason: string) => void;
}

interface Entry {
  readonly spec: ServiceSpec;
  child: Child;
  restarts: number;
}

/**
 * Long-running services, started in order (each waits for the previous ones to be ready),
 * restarted alone with backoff when they exit on their own if they have a restart policy
 * (restart-policy.ts decides), and
 * stopped in reverse order, SIGTERM then SIGKILL after a grace. One-shot commands run through
 * it are stopped too if it stops while they run.
 */
export class Supervisor {
  /** started services, in start order: a restart replaces the child in place, so the stop order stays */
  private readonly entries: Entry[] = [];
  private readonly oneShots = new Set<Child>();
  private isStopping = false;
  private markStopping: () => void = () => undefined;
  /** resolved when stopping starts: cuts a restart's backoff short */
  private readonly stopped = new Promise<void>((resolve) => (this.markStopping = resolve));

  constructor(private readonly options: SupervisorOptions) {}

  get stopping(): boolean {
    return this.isStopping;
  }

  /** Runs a command to completion (rejects unless it exits 0). */
  run(spec: ChildSpec): Promise<void> {
    return runToCompletion(spec, this.oneShots);
  }

  /**
   * Starts a service and waits until it is ready: its health check passes or, without one, it
   * stays up for `settleMs`. From then on it is restarted when it exits on its own. Not ready
   * when it exits first (with how it exited) or the supervisor is stopping; throws when it is
   * not healthy within `healthTimeoutMs`.
   */
  async start(spec: ServiceSpec): Promise<{ readonly ready: true } | { readonly ready: false; readonly exit: string }> {
    const entry: Entry = { spec, child: new Child(spec), restarts: 0 };
    this.entries.push(entry);
    if (!(await this.ready(entry))) return { ready: false, exit: entry.child.exited ? describeExit(await entry.child.exit) : 'stopping' };
    if (spec.restart) void this.supervise(entry, spec.restart);
    return { ready: true };
  }

  private async ready(entry: Entry): Promise<boolean> {
    const { child, spec } = entry;
    if (spec.health === null) {
      await Promise.race([sleep(spec.settleMs ?? 1000), child.exit]);
      return !child.exited && !this.isStopping;
    }
    return child.waitHealthy(spec.health, { timeoutMs: this.options.healthTimeoutMs, cancelled: () => this.isStopping, at: spec.healthAt });
  }

  /**
   * Watches a ready service: when it exits on its own, restarts it after a backoff, or gives up
   * once it has been restarted `maxRestarts` times in a row without staying healthy for `stableMs`.
   */
  private async supervise(entry: Entry, policy: RestartPolicy): Promise<void> {
    const { log } = this.options;
    const name = entry.spec.name;
    for (;;) {
      await this.resetWhenStable(entry, policy);
      const pid = entry.child.pid;
      const why = describeExit(await entry.child.exit);
      if (this.isStopping) return;
      const decision = onServiceExit(entry.restarts, policy);
      if (decision.action === 'give-up') {
        const after = policy.maxRestarts === 0 ? '--max-restarts 0' : `${entry.restarts} restarts in a row, none healthy for ${policy.stableMs / 1000} s`;
        this.options.onGiveUp(`${name} exited on its own (${why}, pid ${pid}); giving up after ${after}: stopping everything`);
        return;
      }
      entry.restarts = decision.restarts;
      log(
        `${name} exited on its own (${why}, pid ${pid}); restarting it in ${decision.delayMs / 1000} s (restart ${decision.restarts} in a row, at most ${policy.maxRestarts})`,
      );
      await Promise.race([sleep(decision.delayMs), this.stopped]);
      if (this.isStopping) return;
      log(`restarting ${name}`);
      entry.child = new Child(entry.spec);
      try {
        if (await this.ready(entry)) log(`${name} is healthy again (pid ${entry.child.pid})`);
      } catch (e) {
        // never healthy: it counts as a failed restart, like an exit
        log(`${e instanceof Error ? e.message : String(e)}; killing it`);
        entry.child.kill('SIGKILL');
      }
    }
  }

  /**
   * Once a restarted service has stayed up for `stableMs` and still passes its health check,
   * its restarts in a row (and so its backoff) start again from 0. Returns when that is done,
   * at once for a service not restarted, or when the child exits.
   */
  private async resetWhenStable(entry: Entry, policy: RestartPolicy): Promise<void> {
    const { child } = entry;
    while (entry.restarts > 0 && !child.exited) {
      await Promise.race([sleep(policy.stableMs), child.exit]);
      if (child.exited || this.isStopping) return;
      if (entry.spec.health === null || (await entry.spec.health(child)) === null) {
        this.options.log(`${entry.spec.name} has stayed healthy for ${policy.stableMs / 1000} s: its restart count and backoff are reset`);
        entry.restarts = 0;
      }
    }
  }

  /** Stops everything: one-shots at once, then the services, the last started first. */
  async stop(): Promise<void> {
    if (this.isStopping) return;
    this.isStopping = true;
    this.markStopping();
    for (const child of this.oneShots) child.kill('SIGTERM');
    for (const entry of [...this.entries].reverse()) {
      const { child, spec } = entry;
      if (child.exited) continue;
      this.options.log(`stopping ${spec.name}`);
      await child.stop({
        graceMs: this.options.stopGraceMs,
        onKill: () => this.options.log(`${spec.name} did not stop within ${this.options.stopGraceMs / 1000} s; killing it`),
      });
    }
  }

  /** SIGKILL to every child still running, synchronously (for process 'exit' and a second Ctrl-C). */
  killAll(): void {
    for (const entry of this.entries) entry.child.kill('SIGKILL');
    for (const child of this.oneShots) child.kill('SIGKILL');
  }
}
