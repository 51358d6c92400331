import { type CommandMetadata, type DomainEvent } from './envelope';

/**
 * An aggregate's behaviour, free of I/O: `decide` turns a command into the events that
 * record it (or throws a DomainError), `evolve` folds an event into the state.
 *
 * `evolve` may update the state in place and return it: large aggregates (a network
 * with 60k ports) cannot afford a copy per event. The repository owns every state it
 * passes in and never shares it, so the mutation is invisible outside.
 *
 * A command yields at most one event: JetStream appends one message atomically, and a
 * command is all-or-nothing.
 */
export interface Decider<S, C, E extends DomainEvent> {
  readonly context: string;
  readonly aggregate: string;
  initialState(): S;
  /** The state of aggregate `id` before its first event, for states that know their own id (default: `initialState()`). */
  initialStateFor?(id: string): S;
  evolve(state: S, event: E): S;
  decide(command: C, state: Readonly<S>, meta: CommandMetadata): readonly [] | readonly [E];
  /** Present for aggregates that grow large; `version` changes whenever the state's shape does. */
  readonly snapshot?: SnapshotCodec<S>;
}

export interface SnapshotCodec<S> {
  readonly version: number;
  /** Save a snapshot after this many events since the previous one. */
  readonly every: number;
  toJSON(state: S): unknown;
  fromJSON(json: unknown): S;
}
