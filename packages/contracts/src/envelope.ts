import { z } from 'zod';

/**
 * Every event travels in this envelope. `data` is validated against the schema of
 * (`type`, `schemaVersion`) and upcast to the latest version when read.
 */
export interface EventEnvelope<TType extends string = string, TData = unknown> {
  readonly id: string;
  readonly type: TType;
  readonly schemaVersion: number;
  readonly aggregate: string;
  readonly aggregateId: string;
  readonly occurredAt: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly projectId: string;
  readonly actor: string;
  readonly data: TData;
}

export const envelopeSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  schemaVersion: z.number().int().positive(),
  aggregate: z.string().min(1),
  aggregateId: z.string().min(1),
  occurredAt: z.string().min(1),
  correlationId: z.string().min(1),
  causationId: z.string().nullable(),
  projectId: z.string(),
  actor: z.string(),
  data: z.unknown(),
});

/** Who asked for a change, and which request it belongs to; arrives with every command. */
export interface CommandMetadata {
  /** Wall-clock time of the request, chosen outside the domain. */
  readonly now: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  /** The project the request acts as. */
  readonly projectId: string;
  readonly actor: string;
  readonly isAdmin: boolean;
  /**
   * The caller's roles, lower case, with Keystone's implied roles expanded (admin implies
   * member, member implies reader). Absent on metadata a service makes for itself, which is
   * `isAdmin`.
   */
  readonly roles?: readonly string[];
}

/** Metadata of work a service does on its own initiative (placement, sweeps, liveness checks). */
export function serviceMeta(actor: string, now = new Date()): CommandMetadata {
  return { now: now.toISOString(), correlationId: `${actor}-${now.getTime()}`, causationId: null, projectId: '', actor, isAdmin: true };
}

/** An event as a decider produces it: the envelope is completed by the event store. */
export interface DomainEvent<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
}

/** An event as read back from the stream: the envelope plus its stream position. */
export interface RecordedEvent<E extends DomainEvent = DomainEvent> {
  readonly envelope: EventEnvelope<E['type'], E['data']>;
  readonly sequence: number;
  readonly subject: string;
}
