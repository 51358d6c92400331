import { type Naming, type RecordedEvent } from '@ncp/contracts';
import { byAggregate, mayTouch, type AggregateFolds, type Fold } from './event-folds';
import { type Projection } from './projection-runner';
import { acceptsContexts } from './subject-filter';

/** What the base uses of a service's transaction client. */
interface TruncatingTx {
  $executeRawUnsafe(query: string): PromiseLike<number>;
}

/**
 * A projection over the whole stream (NATS 2.9 allows one filter per consumer) that folds the
 * events of the contexts and aggregates it names, each aggregate's through its folds, into
 * tables it empties for a rebuild.
 */
export abstract class WholeStreamProjection<Tx extends TruncatingTx> implements Projection<Tx> {
  readonly filter: string;
  readonly accepts: (subject: string) => boolean;
  private readonly aggregateFolds: Fold<Tx>;

  constructor(
    readonly name: string,
    naming: Naming,
    contexts: Parameters<typeof acceptsContexts>[1],
    private readonly tables: readonly string[],
    folds: AggregateFolds<Tx>,
  ) {
    this.filter = naming.allEvents;
    this.accepts = acceptsContexts(naming, contexts);
    this.aggregateFolds = byAggregate(folds);
  }

  async reset(tx: Tx): Promise<void> {
    // the table names are the projection's own constants, never input
    await tx.$executeRawUnsafe(`TRUNCATE ${this.tables.join(', ')}`);
  }

  async analyze(tx: Tx): Promise<void> {
    await tx.$executeRawUnsafe(`ANALYZE ${this.tables.join(', ')}`);
  }

  apply(tx: Tx, recorded: RecordedEvent): Promise<void> {
    return this.aggregateFolds.apply(tx, recorded);
  }

  async applyBatch(tx: Tx, events: readonly RecordedEvent[]): Promise<void> {
    await this.aggregateFolds.applyRun?.(tx, events);
  }

  folds(recorded: RecordedEvent): boolean {
    return mayTouch(this.aggregateFolds, recorded);
  }
}
