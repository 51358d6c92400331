/** What `netctl trace` follows through the stream. Pure. */

import { type EventEnvelope } from '@ncp/contracts';

export interface StreamEvent {
  readonly sequence: number;
  readonly subject: string;
  /** as stored, of any schema version (netctl reads neither schemaVersion nor projectId) */
  readonly envelope: Omit<EventEnvelope, 'schemaVersion' | 'projectId'>;
}

/** What an agent's ResourceStatusReported says of one resource. */
interface Report {
  readonly kind: string;
  readonly id: string;
  readonly status: string;
  readonly reason: string;
}

/** A report on a traced resource: which host, which event, when. */
export interface TracedReport extends Report {
  readonly sequence: number;
  readonly host: string;
  readonly at: string;
  /** since the trace's first event: how long it took to be applied there */
  readonly afterMs: number;
}

export interface Trace {
  readonly events: readonly StreamEvent[];
  readonly reports: readonly TracedReport[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function idsIn(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    if (UUID.test(value)) into.add(value.toLowerCase());
  } else if (Array.isArray(value)) for (const v of value) idsIn(v, into);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) idsIn(v, into);
}

/**
 * Every event one request caused, across services: those carrying its correlation id, and
 * those caused by one of them (causation id), transitively; then the agents' status reports
 * about any resource those events name (their aggregates and every id in their data), after
 * the first event: what was applied where, and how long after the request. `events` in stream
 * order.
 */
export function traceCorrelation(events: readonly StreamEvent[], correlationId: string): Trace {
  const traced: StreamEvent[] = [];
  const eventIds = new Set<string>();
  const resources = new Set<string>();
  const reports: TracedReport[] = [];
  let start: number | null = null;
  for (const e of events) {
    const env = e.envelope;
    if (env.correlationId === correlationId || (env.causationId !== null && eventIds.has(env.causationId))) {
      traced.push(e);
      eventIds.add(env.id);
      resources.add(env.aggregateId.toLowerCase());
      idsIn(env.data, resources);
      start ??= Date.parse(env.occurredAt);
      continue;
    }
    if (start === null || env.type !== 'ResourceStatusReported') continue;
    const data = env.data as { host?: string; resources?: Report[] };
    for (const r of data.resources ?? []) {
      // a BGP session's id is `<speaker>/<peer>`
      if (!r.id.split('/').some((part) => resources.has(part.toLowerCase()))) continue;
      reports.push({
        sequence: e.sequence,
        host: data.host ?? '?',
        kind: r.kind,
        id: r.id,
        status: r.status,
        reason: r.reason,
        at: env.occurredAt,
        afterMs: Date.parse(env.occurredAt) - start,
      });
    }
  }
  return { events: traced, reports };
}
