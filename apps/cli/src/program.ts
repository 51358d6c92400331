import { Command, Option } from 'commander';
import { Naming, parseDesiredKey, type AggregateHistory, type ParkedEvent, type ProjectionStatus, type ReapplyResult } from '@ncp/contracts';
import { REPLAY_SCHEMA, connectNats } from '@ncp/eventstore';
import { SERVICE_CONTEXTS, SERVICE_SCHEMAS, resolveAggregate } from './aggregates';
import { agentRows, type Registration, type ReportedStatus } from './agents';
import { Bus } from './bus';
import { diffSchemas } from './diff';
import { brief, duration, progressLine, rebuildPosition, table } from './render';
import { traceCorrelation, type StreamEvent } from './trace';

interface GlobalOptions {
  natsUrl: string;
  natsPrefix: string;
  natsUser?: string;
  json: boolean;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function withBus<T>(program: Command, fn: (bus: Bus, opts: GlobalOptions) => Promise<T>): Promise<T> {
  const opts = program.opts<GlobalOptions>();
  // netctl reads every stream and asks every service: the admin user where NATS has users
  const nc = await connectNats(opts.natsUrl, 'netctl', { user: opts.natsUser || undefined, password: process.env.NATS_PASSWORD });
  try {
    return await fn(new Bus(nc, new Naming({ prefix: opts.natsPrefix })), opts);
  } finally {
    await nc.close();
  }
}

/** With --json, prints `value` as JSON and says so: the command then skips its human output. */
function printJson(g: GlobalOptions, value: unknown): boolean {
  if (g.json) out(JSON.stringify(value, null, 2));
  return g.json;
}

const eventLine = (e: StreamEvent) => [e.sequence, e.envelope.occurredAt, e.subject, e.envelope.type, e.envelope.actor, e.envelope.correlationId] as const;
const EVENT_HEADERS = ['seq', 'time', 'subject', 'type', 'actor', 'correlation'];

/** The services whose projections netctl reaches, as help and errors list them. */
const SERVICE_NAMES = Object.keys(SERVICE_CONTEXTS).join(', ');

function serviceContext(service: string): string {
  const context = SERVICE_CONTEXTS[service];
  if (context === undefined) throw new Error(`unknown service ${service}; one of ${SERVICE_NAMES}`);
  return context;
}

/** `--at 1234` (a stream sequence) or `--at 2026-11-22T10:00:00Z`. */
function parseAt(at: string | undefined): { atSequence?: number; atTime?: string } {
  if (at === undefined) return {};
  if (/^\d+$/.test(at)) return { atSequence: Number(at) };
  if (Number.isNaN(Date.parse(at))) throw new Error(`--at takes a stream sequence or a time, got ${at}`);
  return { atTime: new Date(at).toISOString() };
}

function history(bus: Bus, aggregateName: string, id: string, at?: string): Promise<AggregateHistory> {
  const { context, aggregate } = resolveAggregate(aggregateName);
  return bus.admin<AggregateHistory>(context, 'aggregate_history', { aggregate, id, ...parseAt(at) }, 30_000);
}

export function buildProgram(): Command {
  const program = new Command('netctl')
    .description('Debug the control plane by its events: history and state of aggregates, traces, projections, agents')
    .addOption(new Option('--nats-url <url>', 'NATS server').env('NATS_URL').default('nats://127.0.0.1:4222'))
    .addOption(new Option('--nats-prefix <prefix>', 'subject prefix of the deployment (test stacks)').env('NATS_PREFIX').default(''))
    .addOption(new Option('--nats-user <user>', 'NATS user (admin, infra/nats/auth.conf); its password from env NATS_PASSWORD').env('NATS_USER'))
    .option('--json', 'machine-readable output', false)
    .showHelpAfterError();

  const events = program.command('events').description('the event stream');
  events
    .command('tail')
    .description('the latest events, and with --follow every new one')
    .option('--subject <pattern>', 'subject filter relative to the deployment, e.g. ev.ipam.network.* or ev.l3.>', 'ev.>')
    .option('--type <type>', 'only events of this type (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--limit <n>', 'how many of the existing events to show', '20')
    .option('--from <sequence>', 'start at this stream sequence instead of the last --limit events')
    .option('--follow', 'keep printing new events until interrupted', false)
    .action(async (o: { subject: string; type: string[]; limit: string; from?: string; follow: boolean }) => {
      await withBus(program, async (bus, g) => {
        const limit = Number(o.limit);
        const matches = (e: StreamEvent) => o.type.length === 0 || o.type.includes(e.envelope.type);
        const print = (e: StreamEvent) => out(g.json ? JSON.stringify(e) : eventLine(e).join('  '));
        const filter = bus.subject(o.subject);
        // the last event of this filter now: what comes after it is new
        const lastAtStart = await bus.lastSequenceOf(filter);
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        let backlog: StreamEvent[] = [];
        let caughtUp = lastAtStart === 0;
        const flush = () => {
          if (g.json) backlog.forEach(print);
          else if (backlog.length > 0) out(table(EVENT_HEADERS, backlog.map(eventLine)));
          backlog = [];
          caughtUp = true;
          // on stderr: what comes on stdout from now on is new events only
          if (o.follow) process.stderr.write(`-- following ${filter} after #${lastAtStart}; Ctrl-C stops\n`);
        };
        if (caughtUp) flush();
        for await (const e of bus.events(filter, o.from === undefined ? 1 : Number(o.from), o.follow, abort.signal)) {
          if (!caughtUp) {
            if (matches(e)) backlog = o.from !== undefined ? [...backlog, e] : limit > 0 ? [...backlog, e].slice(-limit) : [];
            if (e.sequence >= lastAtStart) flush();
          } else if (matches(e)) print(e);
        }
        if (!caughtUp) flush();
      });
    });

  events
    .command('show')
    .description('the history of one aggregate: who, when, correlation and causation ids, and what each event changed')
    .argument('<aggregate>', 'network, subnet_pool, router, floatingip, speaker, instance... (or context.aggregate)')
    .argument('<id>', 'the aggregate id')
    .action(async (aggregate: string, id: string) => {
      await withBus(program, async (bus, g) => {
        const h = await history(bus, aggregate, id);
        if (printJson(g, h)) return;
        if (h.events.length === 0) {
          out(`${h.context}.${h.aggregate} ${id}: no events`);
          return;
        }
        out(`${h.context}.${h.aggregate} ${id}: ${h.events.length} event(s)`);
        for (const e of h.events) {
          out(
            `#${e.sequence}  ${e.occurredAt}  ${e.type} v${e.schemaVersion}  by ${e.actor}  correlation ${e.correlationId}${e.causationId ? `  caused by ${e.causationId}` : ''}`,
          );
          if (e.changes === null) out(`    data: ${brief(e.data, 200)}`);
          else for (const c of e.changes) out(`    ${c.path || '(state)'}: ${brief(c.before)} -> ${brief(c.after)}`);
        }
      });
    });

  program
    .command('state')
    .description("the state of an aggregate as of a stream sequence or a time, folded with the service's own evolve functions")
    .argument('<aggregate>', 'network, router, speaker... (or context.aggregate)')
    .argument('<id>', 'the aggregate id')
    .option('--at <sequence|time>', 'the last event to fold: a stream sequence or an ISO 8601 time (default: all)')
    .action(async (aggregate: string, id: string, o: { at?: string }) => {
      await withBus(program, async (bus, g) => {
        const h = await history(bus, aggregate, id, o.at);
        const last = h.events.at(-1);
        if (printJson(g, { context: h.context, aggregate: h.aggregate, id, sequence: h.sequence, occurredAt: last?.occurredAt ?? null, state: h.state }))
          return;
        out(`${h.context}.${h.aggregate} ${id} as of ${last ? `#${last.sequence} (${last.occurredAt}, ${last.type})` : 'its beginning (no events)'}:`);
        out(JSON.stringify(h.state, null, 2));
      });
    });

  program
    .command('trace')
    .description("every event one API request caused, across services, down to the agents' status reports")
    .argument('<correlation-id>', "the request id (X-Openstack-Request-Id) or any event's correlation id")
    .option('--from <sequence>', 'start the search at this stream sequence', '1')
    .action(async (correlationId: string, o: { from: string }) => {
      await withBus(program, async (bus, g) => {
        const all: StreamEvent[] = [];
        for await (const e of bus.events(bus.subject('ev.>'), Number(o.from), false)) all.push(e);
        const t = traceCorrelation(all, correlationId);
        if (printJson(g, t)) return;
        if (t.events.length === 0) {
          out(`no event has correlation id ${correlationId}`);
          return;
        }
        out(table(EVENT_HEADERS, t.events.map(eventLine)));
        out('');
        out(
          t.reports.length === 0
            ? 'no agent has reported on these resources yet'
            : table(
                ['after', 'host', 'kind', 'id', 'status', 'reason'],
                t.reports.map((r) => [`+${duration(r.afterMs)}`, r.host, r.kind, r.id, r.status, brief(r.reason, 80)]),
              ),
        );
      });
    });

  const projections = program.command('projections').description("the services' Postgres projections");

  /** `netctl projections <name> <service>`: `run` gets the service, its context on the bus, the bus and the global options. */
  const serviceCommand = (name: string, description: string, run: (service: string, context: string, bus: Bus, g: GlobalOptions) => Promise<void>): void => {
    projections
      .command(name)
      .description(description)
      .argument('<service>', SERVICE_NAMES)
      .action(async (service: string) => {
        const context = serviceContext(service);
        await withBus(program, (bus, g) => run(service, context, bus, g));
      });
  };
  projections
    .command('status')
    .description("each projection's checkpoint and lag behind the stream")
    .action(async () => {
      await withBus(program, async (bus, g) => {
        const last = await bus.lastSequence();
        const rows = [];
        for (const [service, context] of Object.entries(SERVICE_CONTEXTS)) {
          try {
            for (const s of await bus.admin<ProjectionStatus[]>(context, 'projection_status', {}, 3_000)) rows.push({ service, ...s, lag: s.pending });
          } catch (e) {
            rows.push({
              service,
              name: '-',
              checkpoint: null,
              pending: null,
              running: false,
              parked: null,
              lag: null,
              error: e instanceof Error ? e.message : String(e),
            });
          }
        }
        if (printJson(g, { streamLastSequence: last, projections: rows })) return;
        out(`stream at #${last}`);
        out(
          table(
            ['service', 'projection', 'checkpoint', 'lag', 'parked', 'running', 'error'],
            rows.map((r) => [r.service, r.name, r.checkpoint, r.lag, r.parked, r.running, 'error' in r ? brief(r.error, 60) : '']),
          ),
        );
        const parked = rows.reduce((n, r) => n + (r.parked ?? 0), 0);
        if (parked > 0) out(`\n${parked} parked event${parked === 1 ? '' : 's'}: netctl projections parked <service> lists them (README, "Parked events")`);
      });
    });

  serviceCommand('parked', "the events a service's projections could not apply and went on without, with the error", async (service, context, bus, g) => {
    const parked = await bus.admin<ParkedEvent[]>(context, 'projection_parked', {}, 10_000);
    if (printJson(g, { service, parked })) return;
    if (parked.length === 0) {
      out(`${service}: no parked events`);
      return;
    }
    out(
      table(
        ['projection', 'sequence', 'subject', 'type', 'version', 'parked at', 'error'],
        parked.map((p) => [p.projection, p.sequence, p.subject, p.type, p.schemaVersion, p.parkedAt, brief(p.error, 100)]),
      ),
    );
  });

  serviceCommand(
    'reapply',
    "applies a service's parked events again, oldest first (after a fix: an upcaster that sanitises them); those that still fail stay parked",
    async (service, context, bus, g) => {
      const results = await bus.admin<ReapplyResult[]>(context, 'projection_reapply', {}, 10 * 60_000);
      if (printJson(g, { service, projections: results })) return;
      out(
        table(
          ['projection', 'applied', 'still parked'],
          results.map((r) => [r.name, r.applied.length, r.parked.length]),
        ),
      );
      for (const r of results) for (const p of r.parked) out(`  ${r.name} #${p.sequence} ${p.type}: ${brief(p.error, 120)}`);
    },
  );

  serviceCommand('rebuild', "empties a service's projections and replays the stream into them, with progress", async (service, context, bus, g) => {
    const target = await bus.lastSequence();
    const started = Date.now();
    const done = bus.admin<{ projections: ProjectionStatus[]; durationMs: number }>(context, 'projection_rebuild', {}, 60 * 60_000);
    let finished = false;
    void done.finally(() => (finished = true)).catch(() => undefined);
    const tty = process.stdout.isTTY && !g.json;
    let lastPrinted = 0;
    let position = 0;
    while (!finished) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (finished) break;
      const status = await bus.admin<ProjectionStatus[]>(context, 'projection_status', {}, 3_000).catch(() => null);
      if (status) position = rebuildPosition(status, target, position);
      const line = progressLine(position, target, Date.now() - started);
      if (tty) process.stdout.write(`\r${line}`);
      else if (!g.json && Date.now() - lastPrinted >= 1000) {
        out(line);
        lastPrinted = Date.now();
      }
    }
    const result = await done;
    const ms = Date.now() - started;
    if (tty) process.stdout.write(`\r${progressLine(target, target, ms)}\n`);
    else if (!g.json) out(progressLine(target, target, ms));
    if (printJson(g, { service, streamLastSequence: target, ...result, rate: ms > 0 ? Math.round((target / ms) * 1000) : null })) return;
    out(
      `rebuilt ${service} (${result.projections.map((p) => p.name).join(', ')}): ${target.toLocaleString('en-US')} events in ${duration(ms)}, ${Math.round((target / Math.max(ms, 1)) * 1000).toLocaleString('en-US')} ev/s`,
    );
  });

  program
    .command('replay')
    .description("a service's projections as of a stream sequence, folded into a scratch schema (replay_...) beside the live one")
    .argument('<service>', SERVICE_NAMES)
    .requiredOption('--to <sequence>', 'the last stream sequence to fold')
    .requiredOption('--into <schema>', 'the scratch schema, replay_<name> (created afresh)')
    .action(async (service: string, o: { to: string; into: string }) => {
      const context = serviceContext(service);
      if (!/^\d+$/.test(o.to)) throw new Error(`--to takes a stream sequence, got ${o.to}`);
      if (!REPLAY_SCHEMA.test(o.into)) throw new Error(`--into takes a schema named replay_<letters, digits, _>, got ${o.into}`);
      await withBus(program, async (bus, g) => {
        const result = await bus.admin<{ projections: { name: string; events: number }[]; durationMs: number }>(
          context,
          'projection_replay',
          { toSequence: Number(o.to), schema: o.into },
          60 * 60_000,
        );
        if (printJson(g, { service, ...result })) return;
        out(`${service} as of #${o.to} is in schema ${o.into} (${duration(result.durationMs)}):`);
        out(
          table(
            ['projection', 'events'],
            result.projections.map((p) => [p.name, p.events]),
          ),
        );
      });
    });

  program
    .command('diff')
    .description('a replayed projection against the live one, table by table, row by row')
    .argument('<service>', SERVICE_NAMES)
    .argument('<schema>', 'the scratch schema of a replay (replay_...)')
    .addOption(new Option('--database-url <url>', "the services' database").env('DATABASE_URL').default('postgresql://postgres@127.0.0.1:5432/ncp'))
    .option('--rows <n>', 'differing rows shown per table', '3')
    .action(async (service: string, schema: string, o: { databaseUrl: string; rows: string }) => {
      serviceContext(service);
      const live = SERVICE_SCHEMAS[service] ?? service;
      const diffs = await diffSchemas(o.databaseUrl, live, schema);
      if (program.opts<GlobalOptions>().json) {
        out(JSON.stringify(diffs, null, 2));
        return;
      }
      out(
        table(
          ['table', 'live', 'replayed', 'only live', 'only replayed'],
          diffs.map((d) => [d.table, d.live, d.replayed, d.onlyLive.length, d.onlyReplayed.length]),
        ),
      );
      const differing = diffs.filter((d) => d.onlyLive.length + d.onlyReplayed.length > 0);
      out(differing.length === 0 ? `no difference: ${live} equals ${schema}` : `${differing.length} table(s) differ`);
      for (const d of differing) {
        for (const r of d.onlyLive.slice(0, Number(o.rows))) out(`  ${d.table} - ${brief(r, 160)}`);
        for (const r of d.onlyReplayed.slice(0, Number(o.rows))) out(`  ${d.table} + ${brief(r, 160)}`);
      }
    });

  program
    .command('agents')
    .description('every agent: row, host, roles, alive, last reconcile, errors')
    .option('--down-seconds <n>', 'an agent whose heartbeat is older is shown dead', '30')
    .action(async (o: { downSeconds: string }) => {
      await withBus(program, async (bus, g) => {
        const registrations: Registration[] = [];
        const statuses: ReportedStatus[] = [];
        for await (const e of bus.events(bus.subject('ev.agent.agent.*'), 1, false)) {
          const env = e.envelope;
          if (env.type === 'AgentRegistered') registrations.push({ agentId: env.aggregateId, ...(env.data as Omit<Registration, 'agentId'>) });
          if (env.type === 'ResourceStatusReported') {
            const d = env.data as { host: string; resources: Omit<ReportedStatus, 'host'>[] };
            for (const r of d.resources) statuses.push({ host: d.host, kind: r.kind, id: r.id, status: r.status, reason: r.reason });
          }
        }
        const rows = agentRows(registrations, await bus.heartbeats(), statuses, Date.now(), Number(o.downSeconds));
        if (printJson(g, rows)) return;
        out(
          table(
            ['row', 'host', 'roles', 'alive', 'heartbeat', 'last reconcile', 'took', 'failed', 'errors'],
            rows.map((r) => [
              r.row,
              r.host,
              r.roles.join(','),
              r.alive ? 'yes' : 'NO',
              r.heartbeatAgeSeconds === null ? 'never' : `${r.heartbeatAgeSeconds}s ago`,
              r.lastReconcile?.at ?? '',
              r.lastReconcile ? `${r.lastReconcile.ms}ms` : '',
              r.lastReconcile ? r.lastReconcile.failed.join(',') || 'none' : '',
              r.errors.length === 0 ? 'none' : r.errors.map((x) => `${x.kind} ${x.id}: ${brief(x.reason, 50)}`).join('; '),
            ]),
          ),
        );
      });
    });

  program
    .command('dataplane')
    .description('the desired state the control plane published for one host (its KV keys)')
    .argument('<row>')
    .argument('<host>')
    .option('--kind <kind>', 'only this kind: l2net, l2port, router, dhcp, ra, bgp, meta')
    .action(async (row: string, host: string, o: { kind?: string }) => {
      await withBus(program, async (bus, g) => {
        const entries = (await bus.desiredState(row, host)).filter((e) => o.kind === undefined || parseDesiredKey(e.key)?.kind === o.kind);
        if (
          printJson(
            g,
            entries.map((e) => ({ key: e.key, revision: e.revision, updatedAt: e.created.toISOString(), value: e.value })),
          )
        )
          return;
        if (entries.length === 0) {
          out(`no desired state for ${row}.${host}`);
          return;
        }
        out(
          table(
            ['kind', 'id', 'revision', 'updated', 'bytes'],
            entries.map((e) => [parseDesiredKey(e.key)?.kind, parseDesiredKey(e.key)?.id, e.revision, e.created.toISOString(), JSON.stringify(e.value).length]),
          ),
        );
      });
    });

  return program;
}
