import { describe, expect, it } from 'vitest';
import { RunList } from './runs.js';

// RunList is internal; it is tested with tiny chunks so that splitting and merging happen often.
describe.each([1, 3, 6, 10])('RunList with chunks of %i runs', (maxRuns) => {
  it('matches a plain sorted array over a long random history', () => {
    const runs = new RunList(maxRuns);
    const model: [bigint, bigint][] = [];
    let seed = 99 + maxRuns;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const modelFloor = (value: bigint): number => {
      let index = -1;
      model.forEach(([first], i) => {
        if (first <= value) index = i;
      });
      return index;
    };
    let most = 0;
    for (let step = 0; step < 4_000; step++) {
      most = Math.max(most, model.length);
      const value = BigInt(random(1_000));
      const floor = runs.floor(value);
      const index = modelFloor(value);
      const run = model[index];
      expect(floor === null ? null : [runs.first(floor), runs.last(floor)]).toEqual(run ?? null);
      const nextRun = model[index + 1];
      const next = runs.next(floor);
      expect(next === null ? null : [runs.first(next), runs.last(next)]).toEqual(nextRun ?? null);

      const op = random(6); // removals rarer than inserts, so the list grows over many chunks
      if (op === 0 && floor !== null && run !== undefined && model.length > 0) {
        runs.remove(floor);
        model.splice(index, 1);
      } else if ((op === 1 || op === 2) && floor !== null && run !== undefined && value > run[1] && (nextRun === undefined || value + 1n < nextRun[0])) {
        runs.setLast(floor, value); // grow the run up to value, keeping a gap
        run[1] = value;
      } else if ((op === 1 || op === 2) && next !== null && nextRun !== undefined && value < nextRun[0] && (run === undefined || value > run[1] + 1n)) {
        runs.setFirst(next, value);
        nextRun[0] = value;
      } else if ((run === undefined || value > run[1] + 1n) && (nextRun === undefined || value + 1n < nextRun[0])) {
        runs.insertAfter(floor, value, value);
        model.splice(index + 1, 0, [value, value]);
      }
      if (step % 50 === 0) {
        expect([...runs.entries()]).toEqual(model);
        expect([...runs.clone().entries()]).toEqual(model);
      }
    }
    expect([...runs.entries()]).toEqual(model);
    expect(most).toBeGreaterThan(maxRuns * 4); // several chunks were in play

    // then drain it in random order, which merges chunks with both neighbours
    while (model.length > 0) {
      const index = random(model.length);
      const run = model[index];
      const position = run && runs.floor(run[0]);
      expect(position && [runs.first(position), runs.last(position)]).toEqual(run);
      if (position) runs.remove(position);
      model.splice(index, 1);
      expect([...runs.entries()]).toEqual(model);
    }
    expect(runs.next(null)).toBeNull();
  });

  it('empties completely and refills', () => {
    const runs = new RunList(maxRuns);
    for (let i = 20; i >= 0; i--) runs.insertAfter(null, BigInt(i * 3), BigInt(i * 3 + 1));
    expect([...runs.entries()].length).toBe(21);
    for (let i = 0; i <= 20; i++) {
      const position = runs.floor(BigInt(i * 3));
      expect(position && runs.first(position)).toBe(BigInt(i * 3));
      if (position) runs.remove(position);
    }
    expect([...runs.entries()]).toEqual([]);
    expect(runs.floor(100n)).toBeNull();
    expect(runs.next(null)).toBeNull();
    runs.insertAfter(null, 5n, 6n);
    expect([...runs.entries()]).toEqual([[5n, 6n]]);
  });
});
