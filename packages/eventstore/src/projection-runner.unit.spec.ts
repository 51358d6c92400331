import { describe, expect, it } from 'vitest';
import { batchesOf, deliveredInTurn } from './projection-runner';

interface Msg {
  readonly seq: number;
  readonly info: { readonly pending: number; readonly deliverySequence: number };
}

/**
 * A consumer as the runner sees it: messages arrive in deliveries (what one read off the
 * socket hands over), `getPending()` counts those received and not yet taken, and after the
 * last delivery nothing more ever comes (the iterator waits, as a consumer does).
 */
class Deliveries implements AsyncIterable<Msg> {
  private buffered: Msg[] = [];
  private wake: (() => void) | undefined;

  deliver(...messages: Msg[]): void {
    this.buffered.push(...messages);
    this.wake?.();
  }

  getPending(): number {
    return this.buffered.length;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Msg> {
    for (;;) {
      const m = this.buffered.shift();
      if (m) {
        yield m;
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** A message of stream sequence `seq`, the `delivery`-th its consumer sent (by default its seq-th). */
const msg = (seq: number, pending: number, delivery = seq): Msg => ({ seq, info: { pending, deliverySequence: delivery } });

/** The sequences of the next batch. */
async function next(batches: AsyncGenerator<Msg[]>): Promise<number[]> {
  const r = await batches.next();
  if (r.done) throw new Error('no more batches');
  return r.value.map((m) => m.seq);
}

describe('batchesOf: how the projection runner cuts a consumer into batches', () => {
  it('ends a batch when nothing more has arrived, even if the server counted more pending', async () => {
    // The stall seen in a rebuild: the last delivered message says 2 more are pending, and they
    // never come (until some new event is appended, minutes later). The tail must go now.
    const source = new Deliveries();
    source.deliver(msg(1, 4), msg(2, 3), msg(3, 2));
    const batches = batchesOf<Msg>(source, 500);
    expect(await next(batches)).toEqual([1, 2, 3]);
    // and a later delivery makes the next batch
    source.deliver(msg(4, 0));
    expect(await next(batches)).toEqual([4]);
  });

  it('keeps taking what has already arrived, up to the batch size', async () => {
    const source = new Deliveries();
    source.deliver(...Array.from({ length: 7 }, (_, i) => msg(i + 1, 100)));
    const batches = batchesOf<Msg>(source, 3);
    expect(await next(batches)).toEqual([1, 2, 3]);
    expect(await next(batches)).toEqual([4, 5, 6]);
    expect(await next(batches)).toEqual([7]);
  });

  it('ends a batch where the server says nothing follows', async () => {
    const source = new Deliveries();
    source.deliver(msg(1, 1), msg(2, 0), msg(3, 0));
    const batches = batchesOf<Msg>(source, 500);
    expect(await next(batches)).toEqual([1, 2]);
    expect(await next(batches)).toEqual([3]);
  });
});

describe('deliveredInTurn: a delivery lost on the way ends the consumer before anything after it is acknowledged', () => {
  it('batches what came before the gap, then ends, saying which delivery was missing', async () => {
    const source = new Deliveries();
    // stream sequences 10, 12, 15 are deliveries 1, 2, 3; delivery 4 (sequence 16) was lost
    source.deliver(msg(10, 5, 1), msg(12, 4, 2), msg(15, 3, 3), msg(17, 2, 5), msg(18, 1, 6));
    const gaps: { expected: number; seq: number }[] = [];
    const batches = batchesOf<Msg>(
      deliveredInTurn(source, (expected, m) => gaps.push({ expected, seq: m.seq })),
      500,
    );
    expect(await next(batches)).toEqual([10, 12, 15]);
    // nothing from the gap on: sequence 17's acknowledgement would acknowledge 16 with it
    expect((await batches.next()).done).toBe(true);
    expect(gaps).toEqual([{ expected: 4, seq: 17 }]);
  });

  it('ends at once when the first delivery is lost, and passes every message of an unbroken run', async () => {
    const lostFirst = new Deliveries();
    lostFirst.deliver(msg(3, 0, 2));
    const gaps: number[] = [];
    const none = batchesOf<Msg>(
      deliveredInTurn(lostFirst, (expected) => gaps.push(expected)),
      500,
    );
    expect((await none.next()).done).toBe(true);
    expect(gaps).toEqual([1]);

    const unbroken = new Deliveries();
    unbroken.deliver(msg(1, 2), msg(2, 1), msg(5, 0, 3));
    const batches = batchesOf<Msg>(
      deliveredInTurn(unbroken, () => gaps.push(-1)),
      500,
    );
    expect(await next(batches)).toEqual([1, 2, 5]);
    expect(gaps).toEqual([1]);
  });
});
