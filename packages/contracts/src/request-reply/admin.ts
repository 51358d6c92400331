/**
 * Operator requests over NATS, what `netctl` sends to a service (`admin.<context>.<verb>`),
 * answered by each instance with `{ result }` or `{ error: { message } }`.
 */

export type AdminReply<T> = { readonly result: T; readonly error?: undefined } | { readonly result?: undefined; readonly error: { readonly message: string } };

/** `projection_status` (one per projection of the service). */
export interface ProjectionStatus {
  readonly name: string;
  readonly checkpoint: number;
  /** Events in the stream that this projection has not applied yet. */
  readonly pending: number;
  readonly running: boolean;
  /** Events it could not apply and went on without (`netctl projections parked`). */
  readonly parked: number;
}

/** `projection_parked`: an event a projection could not apply, kept aside so the projection goes on without it. */
export interface ParkedEvent {
  readonly projection: string;
  readonly sequence: number;
  readonly subject: string;
  /** As stored in the stream ('' when the envelope itself does not parse). */
  readonly type: string;
  readonly schemaVersion: number;
  readonly error: string;
  readonly parkedAt: string;
}

/** `projection_reapply`: the events now applied, and those still parked (with their new error). */
export interface ReapplyResult {
  readonly name: string;
  readonly applied: number[];
  readonly parked: ParkedEvent[];
}

/** `aggregate_history`: one aggregate's events, folded as the service folds them. */
export interface AggregateHistoryRequest {
  readonly aggregate: string;
  readonly id: string;
  /** stop after this stream sequence, or at the last event at or before this time (ISO 8601) */
  readonly atSequence?: number;
  readonly atTime?: string;
}

/** One leaf that differs between two JSON values. */
export interface JsonChange {
  /** `ports.3.fixedIps`, `name`; `` for the whole value */
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface AggregateHistoryEvent {
  readonly sequence: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly occurredAt: string;
  readonly actor: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly data: unknown;
  /** what the event changed in the state; null when the history is too long to diff each step */
  readonly changes: readonly JsonChange[] | null;
}

export interface AggregateHistory {
  readonly context: string;
  readonly aggregate: string;
  readonly id: string;
  readonly events: readonly AggregateHistoryEvent[];
  /** the state after the last event listed (the decider's snapshot form where it has one) */
  readonly state: unknown;
  readonly sequence: number;
}
