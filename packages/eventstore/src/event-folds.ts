import { type RecordedEvent } from '@ncp/contracts';

/** Something that folds recorded events into a service's tables (a mirror, a table of handlers, a projection). */
export interface Fold<Tx> {
  apply(tx: Tx, recorded: RecordedEvent): Promise<void>;
  /**
   * Applies consecutive events with the effect of applying each in turn, in fewer statements
   * (a fact mirror reads and writes each row they touch once).
   */
  applyRun?(tx: Tx, run: readonly RecordedEvent[]): Promise<void>;
  /** False when applying the event is sure to change nothing (a type with no handler); true if unknown. */
  touches?(recorded: RecordedEvent): boolean;
}

/** Whether `fold` may change something for `recorded`. */
export const mayTouch = <Tx>(fold: Fold<Tx>, recorded: RecordedEvent): boolean => fold.touches?.(recorded) ?? true;

/** What a handler is given of one event: its aggregate's id, when it happened, its data, and the record itself. */
export interface Folded<D> {
  id: string;
  at: Date;
  data: D;
  recorded: RecordedEvent;
}

type Handler<Tx, D> = (tx: Tx, event: Folded<D>) => Promise<unknown>;

/** One handler per event type of the union `E`: the compiler says when a type has none. */
export type EventHandlers<Tx, E extends { type: string; data: unknown }> = { [T in E['type']]: Handler<Tx, Extract<E, { type: T }>['data']> };

/** For an event that changes nothing here. */
export const unchanged = async (): Promise<void> => {};

/**
 * Folds the events of `E` by their type through `handlers`; `handlers` may name only some
 * types (see `byType` for all). An event of a type it does not name (one of another union,
 * or a newer one) changes nothing.
 */
export function someTypes<Tx, E extends { type: string; data: unknown }>(handlers: Partial<EventHandlers<Tx, E>>): Fold<Tx> {
  const table = handlers as Partial<Record<string, Handler<Tx, unknown>>>;
  return {
    touches: (recorded) => Object.hasOwn(table, recorded.envelope.type),
    async apply(tx, recorded) {
      const e = recorded.envelope;
      if (!Object.hasOwn(table, e.type)) return;
      await table[e.type]?.(tx, { id: e.aggregateId, at: new Date(e.occurredAt), data: e.data, recorded });
    },
  };
}

/** Folds every event type of `E` through its handler. */
export const byType = <Tx, E extends { type: string; data: unknown }>(handlers: EventHandlers<Tx, E>): Fold<Tx> => someTypes<Tx, E>(handlers);

/**
 * The folds of each aggregate a projection follows, applied in the order given; the events of
 * other aggregates are not its own and change nothing.
 */
export type AggregateFolds<Tx> = Readonly<Record<string, Fold<Tx> | readonly Fold<Tx>[]>>;

export function byAggregate<Tx>(folds: AggregateFolds<Tx>): Fold<Tx> {
  const foldsOf = (recorded: RecordedEvent): readonly Fold<Tx>[] => {
    const aggregate = recorded.envelope.aggregate;
    return Object.hasOwn(folds, aggregate) ? [folds[aggregate] ?? []].flat() : [];
  };
  const apply = async (tx: Tx, recorded: RecordedEvent) => {
    for (const fold of foldsOf(recorded)) await fold.apply(tx, recorded);
  };
  return {
    touches: (recorded) => foldsOf(recorded).some((fold) => mayTouch(fold, recorded)),
    apply,
    // Events that go to one and the same fold, one after another, go to it as one run when it
    // takes runs; any other event is applied alone, in its place.
    async applyRun(tx, events) {
      let run: { fold: Fold<Tx>; events: RecordedEvent[] } | undefined;
      const flush = async () => {
        if (run?.fold.applyRun) await run.fold.applyRun(tx, run.events);
        run = undefined;
      };
      for (const recorded of events) {
        // only the folds that may change something for it: one that surely changes nothing ends no run
        const folds = foldsOf(recorded).filter((fold) => mayTouch(fold, recorded));
        if (folds.length === 0) continue;
        const only = folds.length === 1 && folds[0]?.applyRun ? folds[0] : undefined;
        if (only && run?.fold === only) {
          run.events.push(recorded);
          continue;
        }
        await flush();
        if (only) run = { fold: only, events: [recorded] };
        else await apply(tx, recorded);
      }
      await flush();
    },
  };
}

/** The revision columns of an API resource (Neutron's revision_number) as it is created. */
export const firstRevision = (at: Date) => ({ revisionNumber: 1, createdAt: at, updatedAt: at });

/** The revision columns of an API resource a change makes a new revision of. */
export const nextRevision = (at: Date) => ({ updatedAt: at, revisionNumber: { increment: 1 } });
