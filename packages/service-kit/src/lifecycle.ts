/** Something a service starts and stops: a projection, a watcher, a responder, a timer. */
export interface Part {
  start(): unknown;
  stop(): unknown;
}

/**
 * The order a service starts in; it stops in the reverse. Each stage depends on the ones
 * before it: placement reads the agents' liveness as soon as a projection moves; projections
 * and reactions wait on NATS or Postgres, none on another, so they start side by side; the
 * admin responder reports the projections; the desired state folds their tables; other
 * services' commands and the timers (placement loops, sweepers) use all of it.
 */
export const STAGES = ['connections', 'stream', 'watchers', 'projections', 'admin', 'publishers', 'commands', 'timers'] as const;
export type Stage = (typeof STAGES)[number];

export interface LifecycleLogger {
  error(obj: object, msg: string): void;
}

interface Entry {
  readonly name: string;
  readonly stage: Stage;
  readonly part: Part;
}

/**
 * The parts of a service by stage. `start` starts the stages in order (the parts of one stage
 * together); when a part fails to start, what had started is stopped in reverse and the
 * failure is thrown. `stop` stops what started, in reverse, each part even when another fails.
 */
export class Lifecycle {
  private readonly entries: Entry[] = [];
  private started: Entry[] = [];

  constructor(private readonly logger: LifecycleLogger) {}

  /** Parts of the `connections` stage are open once created: they count as started. */
  add<P extends Part>(stage: Stage, part: P, name: string = part.constructor.name): P {
    const entry = { name, stage, part };
    this.entries.push(entry);
    if (stage === 'connections') this.started.push(entry);
    return part;
  }

  /** The names of the parts in start order, by stage. */
  plan(): { stage: Stage; parts: string[] }[] {
    return STAGES.map((stage) => ({ stage, parts: this.entries.filter((e) => e.stage === stage).map((e) => e.name) })).filter((s) => s.parts.length > 0);
  }

  async start(): Promise<void> {
    for (const stage of STAGES) {
      const entries = this.entries.filter((e) => e.stage === stage && !this.started.includes(e));
      const results = await Promise.allSettled(entries.map(async (e) => e.part.start()));
      entries.forEach((e, i) => {
        if (results[i]?.status === 'fulfilled') this.started.push(e);
      });
      const failed = results.findIndex((r) => r.status === 'rejected');
      if (failed >= 0) {
        const reason = (results[failed] as PromiseRejectedResult).reason as unknown;
        this.logger.error({ err: reason, part: entries[failed]?.name, stage }, 'service part failed to start; stopping what started');
        await this.stop().catch(() => undefined);
        throw reason;
      }
    }
  }

  async stop(): Promise<void> {
    const failures: unknown[] = [];
    const started = this.started;
    this.started = [];
    for (const e of [...started].reverse()) {
      try {
        await e.part.stop();
      } catch (err) {
        this.logger.error({ err, part: e.name, stage: e.stage }, 'service part failed to stop');
        failures.push(err);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} parts failed to stop`);
  }
}
