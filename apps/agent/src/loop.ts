import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '@ncp/eventstore';
import { namespacesChangedBy, type Manager } from './manager';

/** Time as the loop sees it: injectable, so timers and backoff are tested without waiting. */
export interface Clock {
  now(): number;
  /** Resolves after `ms` (never for Infinity), or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The longest a Node timer waits; a longer wait is cut to it (the loop then waits again). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    if (signal.aborted) return;
    if (!Number.isFinite(ms)) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    await sleep(Math.min(Math.max(0, ms), MAX_TIMER_MS), undefined, { signal }).catch(() => undefined);
  },
};

/** One pass of the loop: the managers that ran, in order, and how long they took. */
export interface Pass {
  readonly ran: readonly Manager[];
  readonly ms: number;
  /** only periodic read-backs ran (no change, resync or retry) */
  readonly periodicOnly: boolean;
}

export interface LoopOptions {
  /** every manager runs this often, changed or not: the level-triggered resync */
  readonly resyncMs: number;
  /** the wait before a pass, so a burst of desired-state updates lands in one */
  readonly settleMs: number;
  /** Reports what the pass changed; false when some of it must be tried again (after a backoff). */
  readonly afterPass: (pass: Pass) => Promise<boolean>;
  /** Called as each manager's pass ends, before the next one runs (not awaited beyond its return). */
  readonly afterManager?: (manager: Manager) => void;
}

/**
 * Felix-style loop: desired state in -> the managers of the kinds that changed are dirty ->
 * a pass runs, in order, every manager that is dirty, due for a retry or its period, or that
 * comes after one that ran and changed what it builds on (`Manager.followsChangesOf`) ->
 * `afterPass` reports. Nothing runs before `ready()`.
 */
export class ReconcileLoop {
  private running = false;
  private isReady = false;
  private wake = new AbortController();
  private done: Promise<void> | undefined;
  private reportFailures = 0;
  private reportRetryAt = Infinity;

  constructor(
    readonly managers: readonly Manager[],
    private readonly clock: Clock,
    private readonly options: LoopOptions,
  ) {}

  /** The initial desired state has arrived: passes may start (and sweep what it omits). */
  ready(): void {
    this.isReady = true;
    this.poke();
  }

  /** A key of this kind changed: its managers run in the next pass. */
  changed(kind: string): void {
    for (const m of this.managers) if (m.watches(kind)) m.markDirty();
    this.poke();
  }

  /** Every manager runs in the next pass, reading the whole kernel back. */
  resync(): void {
    for (const m of this.managers) m.markResync();
    this.poke();
  }

  start(): void {
    this.running = true;
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.poke();
    await this.done;
  }

  private poke(): void {
    this.wake.abort();
  }

  private async run(): Promise<void> {
    let nextResync = this.clock.now() + this.options.resyncMs;
    while (this.running) {
      // a poke from now on cuts the wait below short, so no change is missed
      if (this.wake.signal.aborted) this.wake = new AbortController();
      const now = this.clock.now();
      if (now >= nextResync) {
        for (const m of this.managers) m.markResync();
        nextResync = now + this.options.resyncMs;
      }
      const due = this.isReady && this.managers.some((m) => m.wants(now));
      if (!due && now < this.reportRetryAt) {
        const next = Math.min(nextResync, this.reportRetryAt, ...(this.isReady ? this.managers.map((m) => m.nextDueAt()) : []));
        await this.clock.sleep(next - now, this.wake.signal);
        continue;
      }
      if (due) await this.clock.sleep(this.options.settleMs, new AbortController().signal);
      if (!this.running) return;
      await this.pass();
    }
  }

  private async pass(): Promise<void> {
    const started = this.clock.now();
    const periodicOnly = this.managers.every((m) => !m.wants(started) || m.periodicOnly(started));
    const ran: Manager[] = [];
    for (const m of this.managers) {
      const upstream = ran.filter((r) => m.spec.after?.includes(r.name));
      const upstreamRan = upstream.some((r) => m.followsChangesOf(r));
      if (!this.isReady || (!m.wants(this.clock.now()) && !upstreamRan)) continue;
      await m.pass(() => this.clock.now(), namespacesChangedBy(upstream));
      ran.push(m);
      this.options.afterManager?.(m);
    }
    if (await this.options.afterPass({ ran, ms: this.clock.now() - started, periodicOnly })) {
      this.reportFailures = 0;
      this.reportRetryAt = Infinity;
    } else {
      this.reportFailures++;
      this.reportRetryAt = this.clock.now() + backoffMs(this.reportFailures);
    }
  }
}
