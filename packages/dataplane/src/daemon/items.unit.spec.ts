import { describe, expect, it } from 'vitest';
import { reconcileEach } from './items';

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('reconcileEach', () => {
  it('runs at most `concurrency` intents at once, reports in intent order, and sweeps after the last', async () => {
    const ids = ['A', 'b', 'c', 'd', 'e'];
    const gates = new Map(ids.map((id) => [id, gate()]));
    const log: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const done = reconcileEach(
      'metadata',
      [...ids, 'B'],
      (id) => id,
      async (id) => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        log.push(`start ${id}`);
        await gates.get(id)?.promise;
        running--;
        if (id === 'c') throw new Error('c cannot start');
        return { pid: id.charCodeAt(0) };
      },
      async (wanted) => void log.push(`sweep ${[...wanted].sort().join(',')}`),
      2,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['start A', 'start b']);
    // the later ones finish first: their results still come in intent order
    gates.get('b')?.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['start A', 'start b', 'start c']);
    for (const id of ['e', 'd', 'c', 'A']) {
      gates.get(id)?.open();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await done).toEqual([
      { item: 'metadata:A', ok: true, pid: 65 },
      { item: 'metadata:b', ok: true, pid: 98 },
      { item: 'metadata:c', ok: false, error: 'c cannot start' },
      { item: 'metadata:d', ok: true, pid: 100 },
      { item: 'metadata:e', ok: true, pid: 101 },
      // the same id in another case is the same item: refused, not run
      { item: 'metadata:B', ok: false, error: 'metadata:B is listed twice' },
      { item: 'sweep', ok: true },
    ]);
    expect(mostAtOnce).toBe(2);
    expect(log.filter((l) => l.startsWith('start'))).toHaveLength(5);
    expect(log.at(-1)).toBe('sweep a,b,c,d,e');
  });

  it('one at a time unless told otherwise', async () => {
    let running = 0;
    let mostAtOnce = 0;
    await reconcileEach(
      'bgp',
      ['x', 'y', 'z'],
      (id) => id,
      async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return {};
      },
      async () => undefined,
    );
    expect(mostAtOnce).toBe(1);
  });
});
