import { describe, expect, it, vi } from 'vitest';
import { SerialPass } from './serial-pass';

/** A promise the test resolves when it chooses: a pass holds on it while requests come in. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const idle = (runner: SerialPass) => vi.waitFor(() => expect(runner.busy).toBe(false));

describe('serial pass', () => {
  it('never overlaps passes and folds the requests made during one into one more pass', async () => {
    let active = 0;
    let maxActive = 0;
    let passes = 0;
    const first = gate();
    const runner = new SerialPass(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        passes++;
        if (passes === 1) await first.opened;
        active--;
      },
      () => undefined,
    );
    runner.request();
    for (let i = 0; i < 5; i++) runner.request();
    // the first pass is still running: the five requests wait for it
    expect([passes, runner.busy]).toEqual([1, true]);
    first.open();
    await idle(runner);
    expect([passes, maxActive]).toEqual([2, 1]);
  });

  it('reports a failed pass and runs again on the next request', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const runner = new SerialPass(
      async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        await Promise.resolve();
      },
      (e) => errors.push(e),
    );
    runner.request();
    await idle(runner);
    expect([calls, errors.map((e) => (e as Error).message)]).toEqual([1, ['boom']]);
    runner.request();
    await idle(runner);
    expect([calls, errors.map((e) => (e as Error).message)]).toEqual([2, ['boom']]);
  });
});
