import { type NatsConnection, type Subscription } from '@nats-io/nats-core';
import {
  type AdminReply,
  type AggregateHistory,
  type AggregateHistoryEvent,
  type AggregateHistoryRequest,
  type Decider,
  type DomainEvent,
  type Naming,
  type ProjectionStatus,
} from '@ncp/contracts';
import { type JetStreamEventStore } from './event-store';
import { jsonChanges, toPlain } from './json-changes';
import { type ProjectionLogger, type ProjectionRunner } from './projection-runner';

/** A decider as a history needs it: any state and event types, and the state's JSON form. */
export interface HistoryDecider {
  readonly aggregate: string;
  initialState(id: string): unknown;
  evolve(state: unknown, event: { type: string; data: unknown }): unknown;
  toJSON(state: unknown): unknown;
}

export function historyOf<S, C, E extends DomainEvent>(decider: Decider<S, C, E>): HistoryDecider {
  return {
    aggregate: decider.aggregate,
    initialState: (id) => decider.initialStateFor?.(id) ?? decider.initialState(),
    evolve: (state, event) => decider.evolve(state as S, event as E),
    // the snapshot form where there is one: it is what the state means, without its indexes
    toJSON: (state) => (decider.snapshot ? decider.snapshot.toJSON(state as S) : state),
  };
}

/** Beyond this many events a history lists them without per-event diffs (each diff serialises the state). */
const MAX_DIFFED_EVENTS = 500;

/**
 * Rebuilds a service's projections all at once, and then says where each stands. Each reads
 * the stream with a consumer of its own into tables of its own, and one's Postgres work overlaps
 * another's decoding; one after the other, the service took the sum of their times, and a
 * progress bar (the least advanced projection) stood still once the first was done. A failure is
 * the answer only once every rebuild has ended: none is left running behind it.
 */
export async function rebuildAll(projections: readonly Pick<ProjectionRunner<unknown>, 'status' | 'rebuild'>[]): Promise<ProjectionStatus[]> {
  const rebuilt = await Promise.allSettled(projections.map((p) => p.rebuild()));
  const failed = rebuilt.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return Promise.all(projections.map((p) => p.status()));
}

/**
 * Operator requests over NATS, what `netctl` sends to a service, answered by one of its replicas:
 * `admin.<context>.projection_status`, `admin.<context>.projection_rebuild`,
 * `admin.<context>.projection_parked` (the events its projections parked),
 * `admin.<context>.projection_reapply` (applies them again, after a fix),
 * `admin.<context>.aggregate_history` (the history and state of one aggregate, computed with
 * the service's own deciders) and `admin.<context>.projection_replay` (its projections as of a
 * sequence, in a scratch schema).
 */
export class AdminResponder {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly context: string,
    private readonly projections: readonly Pick<ProjectionRunner<unknown>, 'status' | 'rebuild' | 'parkedEvents' | 'reapplyParked'>[],
    private readonly store: Pick<JetStreamEventStore, 'read'>,
    private readonly deciders: readonly HistoryDecider[],
    private readonly logger: ProjectionLogger,
    /** `projection_replay`: the service's projections folded up to a sequence into a scratch schema */
    private readonly replay?: (toSequence: number, schema: string) => Promise<{ projections: { name: string; events: number }[] }>,
  ) {}

  start(): void {
    this.serve('projection_status', async () => Promise.all(this.projections.map((p) => p.status())));
    this.serve('projection_rebuild', async () => {
      const started = Date.now();
      const results = await rebuildAll(this.projections);
      this.logger.info({ results, ms: Date.now() - started }, 'projections rebuilt');
      return { projections: results, durationMs: Date.now() - started };
    });
    this.serve('projection_parked', async () => (await Promise.all(this.projections.map((p) => p.parkedEvents()))).flat());
    this.serve('projection_reapply', async () => {
      const results = [];
      for (const p of this.projections) results.push(await p.reapplyParked());
      return results;
    });
    this.serve('aggregate_history', async (body) => this.history(body as AggregateHistoryRequest));
    this.serve('projection_replay', async (body) => {
      const { toSequence, schema } = body as { toSequence?: unknown; schema?: unknown };
      if (typeof toSequence !== 'number' || !Number.isInteger(toSequence) || toSequence < 0) throw new Error('toSequence must be a stream sequence');
      if (typeof schema !== 'string') throw new Error('schema must be a name');
      if (!this.replay) throw new Error(`${this.context} cannot replay into a scratch schema`);
      const started = Date.now();
      const result = await this.replay(toSequence, schema);
      return { ...result, schema, toSequence, durationMs: Date.now() - started };
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.drain()));
  }

  async history(request: AggregateHistoryRequest): Promise<AggregateHistory> {
    const decider = this.deciders.find((d) => d.aggregate === request.aggregate);
    if (!decider) throw new Error(`${this.context} has no aggregate ${request.aggregate} (it has ${this.deciders.map((d) => d.aggregate).join(', ')})`);
    const atTime = request.atTime === undefined ? undefined : Date.parse(request.atTime);
    if (atTime !== undefined && Number.isNaN(atTime)) throw new Error(`not a time: ${request.atTime}`);
    const subject = this.naming.eventSubject(this.context, request.aggregate, request.id);
    const plain = (s: unknown) => toPlain(decider.toJSON(s));
    const recorded = [];
    for await (const r of this.store.read(subject, 1)) {
      if (request.atSequence !== undefined && r.sequence > request.atSequence) break;
      if (atTime !== undefined && Date.parse(r.envelope.occurredAt) > atTime) break;
      recorded.push(r);
    }
    const diffed = recorded.length <= MAX_DIFFED_EVENTS;
    let state = decider.initialState(request.id);
    let before = diffed ? plain(state) : null;
    const events: AggregateHistoryEvent[] = [];
    for (const r of recorded) {
      const e = r.envelope;
      state = decider.evolve(state, { type: e.type, data: e.data });
      const after = diffed ? plain(state) : null;
      events.push({
        sequence: r.sequence,
        type: e.type,
        schemaVersion: e.schemaVersion,
        occurredAt: e.occurredAt,
        actor: e.actor,
        correlationId: e.correlationId,
        causationId: e.causationId,
        data: e.data,
        changes: diffed ? jsonChanges(before, after) : null,
      });
      before = after;
    }
    return { context: this.context, aggregate: request.aggregate, id: request.id, events, state: plain(state), sequence: recorded.at(-1)?.sequence ?? 0 };
  }

  private serve(verb: string, handler: (body: unknown) => Promise<unknown>): void {
    this.subscriptions.push(
      // one replica answers each request (a rebuild runs once; the others follow its checkpoint)
      this.nc.subscribe(this.naming.adminSubject(this.context, verb), {
        queue: `admin_${this.context}`,
        callback: (err, msg) => {
          if (err) return;
          const respond = (reply: AdminReply<unknown>) => msg.respond(JSON.stringify(reply));
          let body: unknown = {};
          try {
            body = msg.data.length > 0 ? (JSON.parse(msg.string()) as unknown) : {};
          } catch {
            respond({ error: { message: 'the request is not JSON' } });
            return;
          }
          handler(body)
            .then((result) => respond({ result }))
            .catch((e: unknown) => {
              this.logger.error({ err: e, verb }, 'admin request failed');
              respond({ error: { message: e instanceof Error ? e.message : String(e) } });
            });
        },
      }),
    );
  }
}
