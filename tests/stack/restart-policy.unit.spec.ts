import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, onServiceExit } from '@ncp/supervisor';

describe('npm run stack: restarting a service that exited on its own', () => {
  const policy = { initialDelayMs: 500, maxDelayMs: 30_000, maxRestarts: 10, stableMs: 30_000 };

  /** The decisions for a service that dies again and again without ever staying healthy. */
  function crashLoop(p: typeof policy): ReturnType<typeof onServiceExit>[] {
    const decisions: ReturnType<typeof onServiceExit>[] = [];
    let restarts = 0;
    for (;;) {
      const decision = onServiceExit(restarts, p);
      decisions.push(decision);
      if (decision.action === 'give-up') return decisions;
      restarts = decision.restarts;
    }
  }

  it('waits 0.5 s before the first restart, doubling each restart in a row up to 30 s', () => {
    const delays = crashLoop(policy).flatMap((d) => (d.action === 'restart' ? [d.delayMs] : []));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('gives up after maxRestarts restarts in a row, not before', () => {
    const decisions = crashLoop(policy);
    expect(decisions).toHaveLength(11);
    expect(decisions.slice(0, 10).every((d) => d.action === 'restart')).toBe(true);
    expect(decisions[10]).toEqual({ action: 'give-up', restarts: 10 });
    expect(crashLoop({ ...policy, maxRestarts: 1 }).map((d) => d.action)).toEqual(['restart', 'give-up']);
  });

  it('with maxRestarts 0 never restarts: the first exit stops the stack, as before supervision', () => {
    expect(onServiceExit(0, { ...policy, maxRestarts: 0 })).toEqual({ action: 'give-up', restarts: 0 });
  });

  it('after a reset (the service stayed healthy) starts again from the first delay', () => {
    expect(onServiceExit(0, policy)).toEqual({ action: 'restart', delayMs: 500, restarts: 1 });
    expect(onServiceExit(9, policy)).toEqual({ action: 'restart', delayMs: 30_000, restarts: 10 });
  });

  it('never overflows the cap, however long the crash loop', () => {
    expect(onServiceExit(5000, { ...policy, maxRestarts: Number.POSITIVE_INFINITY })).toEqual({ action: 'restart', delayMs: 30_000, restarts: 5001 });
  });

  it('defaults: 0.5 s doubling to 30 s, 10 restarts in a row, reset after 30 s healthy', () => {
    expect(DEFAULT_RESTART_POLICY).toEqual(policy);
  });
});
