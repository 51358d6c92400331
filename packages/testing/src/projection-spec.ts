import { type RecordedEvent } from '@ncp/contracts';
import { applyEach, replayedTables, type ProjectionDatabase } from './fact-stream';

/** What a projection spec uses of its test runner (vitest's, handed in: this package imports none). */
export interface SpecRunner {
  it(name: string, body: () => Promise<void>): void;
  beforeAll(fn: () => Promise<void>): void;
  afterAll(fn: () => Promise<void> | undefined): void;
  expect(actual: unknown): { toEqual(expected: unknown): void };
}

/** Which of the events are other services' facts, and the tables the projection keeps. */
export interface ReplayedTables {
  /** Whether an aggregate's events are another service's facts (those the projection mirrors). */
  isForeign: (aggregate: string) => boolean;
  /** The tables of its copy of the foreign facts, and its own. */
  mirrorTables: readonly string[];
  ownTables: readonly string[];
  /** With the foreign events reversed, before its own: `all` its tables come out the same, `mirror` only its copy does. */
  reversed: 'all' | 'mirror';
}

export interface ProjectionSuite<C> {
  /** The service's client on the tables, once `events` are applied to the emptied projection. */
  after(events: readonly RecordedEvent[]): Promise<C>;
  /**
   * A test that the tables `events` leave (none of them empty) come out the same rebuilt from
   * them, with the foreign events delivered again, and (as `tables.reversed` says) with those reversed.
   */
  itReplays(events: readonly RecordedEvent[], tables: ReplayedTables): void;
}

/** A projection spec's scratch database (see `projectionDatabase`), open for the spec's tests and dropped after them. */
export function projectionSuite<C, Tx>(runner: SpecRunner, open: () => Promise<ProjectionDatabase<C, Tx>>): ProjectionSuite<C> {
  const { it, beforeAll, afterAll, expect } = runner;
  let db: ProjectionDatabase<C, Tx> | undefined;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(() => db?.close());
  const opened = (): ProjectionDatabase<C, Tx> => {
    if (!db) throw new Error('the scratch database is not open');
    return db;
  };

  return {
    async after(events) {
      await applyEach(opened().p, events);
      return opened().client;
    },
    itReplays(events, { isForeign, mirrorTables, ownTables, reversed }) {
      const reversedToo = reversed === 'all' ? 'or reversed, the tables are the same' : 'the tables are the same; reversed, the mirror is';
      it(`rebuilt (event by event, and in one batch), with the foreign events delivered again, ${reversedToo}`, async () => {
        const r = await replayedTables(opened().p, events, isForeign, [...mirrorTables, ...ownTables]);
        const empty = Object.entries(r.once).filter(([, rows]) => rows.length === 0);
        expect(empty.map(([table]) => table)).toEqual([]);
        expect(r.rebuilt).toEqual(r.once);
        expect(r.inOneBatch).toEqual(r.once);
        expect(r.redelivered).toEqual(r.once);
        if (reversed === 'all') expect(r.reversed).toEqual(r.once);
        else for (const t of mirrorTables) expect(r.reversed[t]).toEqual(r.once[t]);
      });
    },
  };
}
