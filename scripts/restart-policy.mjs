// When `npm run stack` (scripts/stack.mjs) restarts a service that exited on its own. Pure,
// so that the unit tier tests it (tests/stack/restart-policy.unit.spec.ts); stack.mjs does
// the waiting, the health checks and the logging.

/**
 * @typedef {object} RestartPolicy
 * @property {number} initialDelayMs  the wait before the first restart
 * @property {number} maxDelayMs      the wait doubles at each restart in a row, up to this
 * @property {number} maxRestarts     restarts in a row that did not stay healthy before the
 *                                    stack gives up (0: never restart, stop the stack)
 * @property {number} stableMs        a restarted service still healthy this long after it
 *                                    became healthy has its count of restarts in a row reset to 0
 */

/** @type {RestartPolicy} */
export const DEFAULT_RESTART_POLICY = { initialDelayMs: 500, maxDelayMs: 30_000, maxRestarts: 10, stableMs: 30_000 };

/**
 * What to do when a supervised service exits on its own, given how many times it has been
 * restarted since it last stayed healthy for `stableMs` (0 for a service that ran stably).
 *
 * @param {number} restarts
 * @param {RestartPolicy} policy
 * @returns {{ action: 'restart', delayMs: number, restarts: number } | { action: 'give-up', restarts: number }}
 */
export function onServiceExit(restarts, policy) {
  if (restarts >= policy.maxRestarts) return { action: 'give-up', restarts };
  return { action: 'restart', delayMs: Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** restarts), restarts: restarts + 1 };
}
