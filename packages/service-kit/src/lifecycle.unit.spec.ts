import { describe, expect, it } from 'vitest';
import { Lifecycle, type Stage } from './lifecycle';

/** Parts that write what happens to them into one journal, failing where told. */
function harness() {
  const journal: string[] = [];
  const errors: { part?: string; stage?: string; msg: string }[] = [];
  const lifecycle = new Lifecycle({ error: (obj: { part?: string; stage?: string }, msg: string) => errors.push({ part: obj.part, stage: obj.stage, msg }) });
  const part = (stage: Stage, name: string, opts: { failStart?: boolean; failStop?: boolean; startGate?: Promise<void> } = {}) =>
    lifecycle.add(
      stage,
      {
        start: async () => {
          await opts.startGate;
          if (opts.failStart) throw new Error(`${name} cannot start`);
          journal.push(`start ${name}`);
        },
        stop: async () => {
          journal.push(`stop ${name}`);
          if (opts.failStop) throw new Error(`${name} cannot stop`);
        },
      },
      name,
    );
  return { journal, errors, lifecycle, part };
}

describe('service lifecycle', () => {
  it('starts stage by stage whatever the order parts were added in, and stops in the exact reverse', async () => {
    const { journal, lifecycle, part } = harness();
    part('timers', 'sweeper');
    part('publishers', 'publisher');
    part('projections', 'projection');
    part('connections', 'nats');
    part('watchers', 'heartbeats');
    part('admin', 'admin');
    part('stream', 'stream');
    part('commands', 'responder');
    expect(lifecycle.plan().map((s) => s.stage)).toEqual(['connections', 'stream', 'watchers', 'projections', 'admin', 'publishers', 'commands', 'timers']);

    await lifecycle.start();
    // connections are open once created: nothing to start
    expect(journal).toEqual(['start stream', 'start heartbeats', 'start projection', 'start admin', 'start publisher', 'start responder', 'start sweeper']);
    journal.length = 0;
    await lifecycle.stop();
    expect(journal).toEqual([
      'stop sweeper',
      'stop responder',
      'stop publisher',
      'stop admin',
      'stop projection',
      'stop heartbeats',
      'stop stream',
      'stop nats',
    ]);
  });

  it('starts the parts of one stage side by side, and a later stage only once all of them have started', async () => {
    const { journal, lifecycle, part } = harness();
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    part('projections', 'slow projection', { startGate: gate });
    part('projections', 'reaction');
    part('admin', 'admin');
    const started = lifecycle.start();
    await new Promise((resolve) => setImmediate(resolve));
    // the reaction did not wait for the slow projection, the admin responder does
    expect(journal).toEqual(['start reaction']);
    open();
    await started;
    expect(journal).toEqual(['start reaction', 'start slow projection', 'start admin']);
  });

  it('when a projection fails to start, stops what had started, in reverse, and throws its error', async () => {
    const { journal, errors, lifecycle, part } = harness();
    part('connections', 'postgres');
    part('connections', 'nats');
    part('stream', 'stream');
    part('watchers', 'heartbeats');
    part('projections', 'projection', { failStart: true });
    part('projections', 'reaction');
    part('admin', 'admin');
    part('timers', 'sweeper');

    await expect(lifecycle.start()).rejects.toThrow('projection cannot start');
    // the reaction of the same stage had started: it is stopped too; nothing after the stage ran
    expect(journal).toEqual([
      'start stream',
      'start heartbeats',
      'start reaction',
      'stop reaction',
      'stop heartbeats',
      'stop stream',
      'stop nats',
      'stop postgres',
    ]);
    expect(errors).toEqual([{ part: 'projection', stage: 'projections', msg: 'service part failed to start; stopping what started' }]);
    // what the failed start stopped is not stopped again
    journal.length = 0;
    await lifecycle.stop();
    expect(journal).toEqual([]);
  });

  it('stops every part even when one fails to stop, then throws that failure', async () => {
    const { journal, errors, lifecycle, part } = harness();
    part('connections', 'nats');
    part('projections', 'projection', { failStop: true });
    part('publishers', 'publisher');
    await lifecycle.start();
    journal.length = 0;

    await expect(lifecycle.stop()).rejects.toThrow('projection cannot stop');
    expect(journal).toEqual(['stop publisher', 'stop projection', 'stop nats']);
    expect(errors).toEqual([{ part: 'projection', stage: 'projections', msg: 'service part failed to stop' }]);
  });

  it('names every failure when several parts fail to stop', async () => {
    const { lifecycle, part } = harness();
    part('projections', 'a', { failStop: true });
    part('projections', 'b', { failStop: true });
    await lifecycle.start();
    const failure = await lifecycle.stop().then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(AggregateError);
    expect((failure as AggregateError).errors.map((e: Error) => e.message)).toEqual(['b cannot stop', 'a cannot stop']);
  });

  it('closes the connections of a service that never started', async () => {
    const { journal, lifecycle, part } = harness();
    part('connections', 'postgres');
    part('connections', 'nats');
    part('projections', 'projection');
    await lifecycle.stop();
    expect(journal).toEqual(['stop nats', 'stop postgres']);
  });
});
