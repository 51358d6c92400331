/**
 * The wait before trying again after `failures` failures in a row: 0.5 s, doubling per failure,
 * up to 30 s. What the agent's drivers and the desired-state publishers wait after a failed pass.
 */
export function backoffMs(failures: number): number {
  return Math.min(30_000, 500 * 2 ** (failures - 1));
}
