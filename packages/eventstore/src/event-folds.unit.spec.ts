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
