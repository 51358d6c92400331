import { type ResourceReport } from '@ncp/contracts';
import { backoffMs } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type InvalidEntry } from './desired-state';
import { type DriverResult } from './reports';

/**
 * One data-plane driver as the loop runs it: which desired-state kinds it reads, how to take
 * its intent from the desired state, run the driver on it, and turn its results into status
 * reports. `failed` stands for the results of a driver that threw: every item it would report.
 */
export interface ManagerSpec<I, R extends DriverResult> {
  readonly name: string;
  /** desired-state kinds (`parseDesiredKey(key).kind`) whose change makes it run */
  readonly kinds: readonly string[];
  /** managers whose pass makes it run too, after them: what they make in the kernel is what it builds on */
  readonly after?: readonly string[];
  /** run again this long after its last pass, changed or not (BGP sessions change on their own) */
  readonly periodMs?: number;
  /**
   * instead of `periodMs`, when only some passes need it: the period after a pass on this intent
   * (undefined: none), asked once the pass is done (what it left may call for another)
   */
  periodFor?(intent: I): number | undefined;
  desired(): { intent: I; invalid: readonly InvalidEntry[] };
  /**
   * `resync`: the pass must read the kernel whole (a driver that remembers may otherwise read
   * only what changed); `periodic`: nothing it watches changed and no retry is due (its period,
   * or a manager it comes after, made it run); `changedBefore`: the namespaces the managers it
   * comes after changed in this pass, undefined when one of them cannot tell (a driver that
   * remembers reads those again)
   */
  apply(intent: I, pass: PassKind): Promise<readonly R[]>;
  /**
   * The namespaces its items live in. With it, a pass of a manager it comes `after` makes it run
   * only when that pass changed one of them; without it, whenever that one ran.
   */
  namespaces?(intent: I): readonly string[];
  /** The namespaces its last apply changed, or undefined when it cannot tell (every manager after it then runs). */
  changedNamespaces?(): ReadonlySet<string> | undefined;
  failed(intent: I, error: string): readonly R[];
  reports(intent: I, results: readonly R[]): ResourceReport[];
}

/** What a driver is told of the pass it runs in (see `ManagerSpec.apply`). */
export interface PassKind {
  readonly resync: boolean;
  readonly periodic: boolean;
  readonly changedBefore: ReadonlySet<string> | undefined;
}

/**
 * The namespaces a set of managers changed in their last passes, together; undefined when one
 * of them cannot tell.
 */
export function namespacesChangedBy(managers: readonly Manager[]): ReadonlySet<string> | undefined {
  const changed = new Set<string>();
  for (const m of managers) {
    const theirs = m.outcome.changedNamespaces;
    if (theirs === undefined) return undefined;
    for (const ns of theirs) changed.add(ns);
  }
  return changed;
}

/** What a manager's last pass left: the statuses to report and the items that failed. */
export interface PassOutcome {
  readonly reports: readonly ResourceReport[];
  readonly failed: readonly string[];
  /** `<item>: <error>` of each failed item */
  readonly errors: readonly string[];
  /** the driver threw (every item carries its error) */
  readonly thrown: boolean;
  /** the namespaces it changed (undefined: not known) */
  readonly changedNamespaces?: ReadonlySet<string> | undefined;
}

/**
 * Felix-style manager: owns its dirty flag (a change to one of its kinds), its retries (a pass
 * with a failed item or a throwing driver is run again after `backoffMs`) and its failures,
 * so one failing driver never keeps the others from running.
 */
export class Manager<I = unknown, R extends DriverResult = DriverResult> {
  private dirty = true;
  /** the next pass reads everything back: the first one, and the loop's periodic or requested resyncs */
  private resyncWanted = true;
  private failures = 0;
  private retryAt = Infinity;
  private lastRunAt = -Infinity;
  private periodMs: number | undefined;
  /** how long its last pass took: what the agent logs, to show which driver a slow pass spent its time in */
  lastPassMs = 0;
  /** the last pass' outcome, kept until the next one */
  outcome: PassOutcome = { reports: [], failed: [], errors: [], thrown: false };

  constructor(
    readonly spec: ManagerSpec<I, R>,
    private readonly logger: Logger,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** failed passes in a row */
  get failing(): number {
    return this.failures;
  }

  get changed(): boolean {
    return this.dirty;
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Runs in the next pass, reading the whole kernel back. */
  markResync(): void {
    this.dirty = true;
    this.resyncWanted = true;
  }

  watches(kind: string): boolean {
    return this.spec.kinds.includes(kind);
  }

  /** When it is due without a change: its retry, or its period. */
  nextDueAt(): number {
    const period = this.spec.periodFor ? this.periodMs : this.spec.periodMs;
    return Math.min(this.retryAt, period === undefined ? Infinity : this.lastRunAt + period);
  }

  wants(now: number): boolean {
    return this.dirty || now >= this.nextDueAt();
  }

  /** Whether a pass of `upstream`, a manager it comes after, is a reason to run: it changed one of its namespaces, or may have. */
  followsChangesOf(upstream: Manager): boolean {
    const changed = upstream.outcome.changedNamespaces;
    if (changed === undefined || this.spec.namespaces === undefined) return true;
    if (changed.size === 0) return false;
    return this.spec.namespaces(this.spec.desired().intent).some((ns) => changed.has(ns));
  }

  /** Only its period made it due (a read-back, not a change or a retry). */
  periodicOnly(now: number): boolean {
    return !this.dirty && now < this.retryAt;
  }

  /**
   * Runs the driver on the current desired state of its kinds; never throws. `changedBefore`:
   * what the managers it comes after changed in this pass (see `ManagerSpec.apply`).
   */
  async pass(now: () => number, changedBefore: ReadonlySet<string> | undefined): Promise<PassOutcome> {
    const started = now();
    const periodic = this.periodicOnly(started);
    this.dirty = false;
    const resync = this.resyncWanted;
    this.resyncWanted = false;
    const { intent, invalid } = this.spec.desired();
    for (const i of invalid) this.logger.error(i, 'desired state entry ignored');
    let results: readonly R[];
    let thrown = false;
    try {
      results = await this.spec.apply(intent, { resync, periodic, changedBefore });
    } catch (err) {
      thrown = true;
      this.logger.error({ err, manager: this.name, failures: this.failures + 1 }, 'driver failed');
      results = this.spec.failed(intent, `${this.name} driver failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const errors = results.flatMap((r) => (r.ok ? [] : [`${r.item}: ${r.error}`]));
    const failed = results.filter((r) => !r.ok).map((r) => r.item);
    if (thrown && failed.length === 0) failed.push(`driver:${this.name}`);
    this.lastRunAt = now();
    this.lastPassMs = this.lastRunAt - started;
    if (this.spec.periodFor) this.periodMs = this.spec.periodFor(intent);
    if (failed.length > 0) {
      this.failures++;
      this.retryAt = this.lastRunAt + backoffMs(this.failures);
    } else {
      this.failures = 0;
      this.retryAt = Infinity;
    }
    const changedNamespaces = thrown ? undefined : this.spec.changedNamespaces?.();
    this.outcome = { reports: this.spec.reports(intent, results), failed, errors, thrown, changedNamespaces };
    return this.outcome;
  }
}
