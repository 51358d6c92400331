import { describe, expect, it } from 'vitest';
import { type RecordedEvent } from '@ncp/contracts';
import { byAggregate, mayTouch, someTypes, type Fold } from './event-folds';

const recorded = (aggregate: string, type: string) =>
  ({ envelope: { aggregate, type, aggregateId: 'x', occurredAt: '2026-01-01T00:00:00Z', data: {} } }) as unknown as RecordedEvent;

describe('folds: which events may change something', () => {
  const handled = someTypes<unknown, { type: 'A' | 'B'; data: unknown }>({ A: async () => undefined });
  const opaque: Fold<unknown> = { apply: async () => undefined };

  it('a table of handlers: the types it names', () => {
    expect(mayTouch(handled, recorded('thing', 'A'))).toBe(true);
    expect(mayTouch(handled, recorded('thing', 'B'))).toBe(false);
  });

  it('a fold that does not say: every event', () => {
    expect(mayTouch(opaque, recorded('thing', 'Z'))).toBe(true);
  });

  it('by aggregate: an aggregate it folds and a fold of it that may change something', () => {
    const folds = byAggregate({ thing: handled, other: [handled, opaque] });
    expect(mayTouch(folds, recorded('thing', 'A'))).toBe(true);
    expect(mayTouch(folds, recorded('thing', 'B'))).toBe(false);
    expect(mayTouch(folds, recorded('other', 'B'))).toBe(true);
    expect(mayTouch(folds, recorded('stranger', 'A'))).toBe(false);
  });
});

describe('folds by aggregate: a batch in runs', () => {
  it('hands consecutive events of a fold that takes runs to it as one run, and every other event alone, in stream order (an event no fold takes ends no run, nor does a fold beside it that surely changes nothing for it)', async () => {
    const calls: string[] = [];
    const typesOf = (events: readonly RecordedEvent[]) => events.map((e) => e.envelope.type).join('+');
    const runs: Fold<unknown> = {
      apply: async (_tx, e) => void calls.push(`runs:${e.envelope.type}`),
      applyRun: async (_tx, events) => void calls.push(`runs:${typesOf(events)}`),
    };
    const alone: Fold<unknown> = { apply: async (_tx, e) => void calls.push(`alone:${e.envelope.type}`) };
    // folds only its deletions, as L3's floating IPs of deleted ports beside its mirror
    const deletions = someTypes<unknown, { type: 'MDeleted'; data: unknown }>({ MDeleted: async () => void calls.push('deletions:MDeleted') });
    const folds = byAggregate({ mirrored: [deletions, runs], own: alone, both: [alone, runs] });
    const events = [
      recorded('mirrored', 'M1'),
      recorded('mirrored', 'M2'),
      recorded('own', 'O1'),
      recorded('mirrored', 'M3'),
      recorded('stranger', 'S1'),
      recorded('mirrored', 'M4'),
      recorded('both', 'B1'),
      recorded('mirrored', 'M5'),
      recorded('mirrored', 'MDeleted'),
      recorded('mirrored', 'M6'),
    ];
    await folds.applyRun?.(undefined, events);
    expect(calls).toEqual(['runs:M1+M2', 'alone:O1', 'runs:M3+M4', 'alone:B1', 'runs:B1', 'runs:M5', 'deletions:MDeleted', 'runs:MDeleted', 'runs:M6']);
  });
});
