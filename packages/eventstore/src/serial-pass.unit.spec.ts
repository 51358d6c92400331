import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SerialPass } from './serial-pass';

describe('serial pass', () => {
  it('never overlaps passes and folds the requests made during one into one more pass', async () => {
    let active = 0;
    let maxActive = 0;
    let passes = 0;
    const runner = new SerialPass(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      passes++;
      await sleep(20);
      active--;
    }, () => undefined);
    runner.request();
    for (let i = 0; i < 5; i++) runner.request();
    while (runner.busy) await sleep(5);
    expect([passes, maxActive]).toEqual([2, 1]);
  });

  it('reports a failed pass and runs again on the next request', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const runner = new SerialPass(async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      await Promise.resolve();
    }, (e) => errors.push(e));
    runner.request();
    while (runner.busy) await sleep(1);
    runner.request();
    while (runner.busy) await sleep(1);
    expect([calls, errors.map((e) => (e as Error).message)]).toEqual([2, ['boom']]);
  });
});
