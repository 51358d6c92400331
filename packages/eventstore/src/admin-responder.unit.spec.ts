import { describe, expect, it } from 'vitest';
import { type ProjectionStatus } from '@ncp/contracts';
import { rebuildAll } from './admin-responder';

/** A projection whose rebuild ends when the test says, and which records when it began. */
function projection(name: string, started: string[]) {
  let end: (failure?: Error) => void = () => undefined;
  return {
    end: (failure?: Error) => end(failure),
    runner: {
      rebuild: () =>
        new Promise<void>((resolve, reject) => {
          started.push(name);
          end = (failure) => (failure ? reject(failure) : resolve());
        }),
      status: async (): Promise<ProjectionStatus> => ({ name, checkpoint: 7, pending: 0, running: true, parked: 0 }),
    },
  };
}

const settled = <T>(p: Promise<T>) => {
  const state = { done: false };
  void p.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
};

describe("rebuildAll: a service's projections rebuilt at once", () => {
  it('starts every rebuild before any has ended, and answers with every status once all are done', async () => {
    const started: string[] = [];
    const [a, b, c] = [projection('a', started), projection('b', started), projection('c', started)];
    const all = rebuildAll([a.runner, b.runner, c.runner]);
    const state = settled(all);
    expect(started).toEqual(['a', 'b', 'c']);
    b.end();
    a.end();
    await Promise.resolve();
    expect(state.done).toBe(false);
    c.end();
    expect((await all).map((s) => s.name)).toEqual(['a', 'b', 'c']);
  });

  it('fails with the first failure, but only once every other rebuild has ended', async () => {
    const started: string[] = [];
    const [a, b] = [projection('a', started), projection('b', started)];
    const all = rebuildAll([a.runner, b.runner]);
    const state = settled(all);
    a.end(new Error('a could not be emptied'));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(state.done).toBe(false);
    b.end();
    await expect(all).rejects.toThrow('a could not be emptied');
  });
});
