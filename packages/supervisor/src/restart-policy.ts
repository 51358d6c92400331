// When a supervised service that exited on its own is restarted. Pure, so that the unit tier
// tests it (tests/stack/restart-policy.unit.spec.ts); the Supervisor does the waiting, the
// health checks and the logging.

export interface RestartPolicy {
  /** the wait before the first restart */
  readonly initialDelayMs: number;
  /** the wait doubles at each restart in a row, up to this */
  readonly maxDelayMs: number;
  /** restarts in a row that did not stay healthy before the supervisor gives up (0: never restart) */
  readonly maxRestarts: number;
  /** a restarted service still healthy this long after it became healthy has its count of restarts in a row reset to 0 */
  readonly stableMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, maxRestarts: 10, stableMs: 30_000 };

export type RestartDecision =
  { readonly action: 'restart'; readonly delayMs: number; readonly restarts: number } | { readonly action: 'give-up'; readonly restarts: number };

/**
 * What to do when a supervised service exits on its own, given how many times it has been
 * restarted since it last stayed healthy for `stableMs` (0 for a service that ran stably).
 */
export function onServiceExit(restarts: number, policy: RestartPolicy): RestartDecision {
  if (restarts >= policy.maxRestarts) return { action: 'give-up', restarts };
  return { action: 'restart', delayMs: Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** restarts), restarts: restarts + 1 };
}
