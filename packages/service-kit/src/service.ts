import {
  EventRegistry,
  Naming,
  agentStatusReport,
  type CommandMetadata,
  type Decider,
  type DomainEvent,
  type EventDefinition,
  type ResourceReport,
} from '@ncp/contracts';
import {
  AdminResponder,
  CommandResponder,
  KvCommandReplies,
  JetStreamEventStore,
  LeaderLease,
  ProjectionRunner,
  ReactionRunner,
  SqlProjectionStore,
  connectNats,
  ensureSharedBuckets,
  historyOf,
  replayIntoScratch,
  type CommandHandler,
  type NatsConnection,
  type Projection,
  type ProjectionRunnerOptions,
  type Reaction,
  type SqlClient,
  type SqlExecutor,
  type TransactionalSqlClient,
} from '@ncp/eventstore';
import { ApiSupport, ReadModel, createLogger, withSchema, type Logger } from '@ncp/nest-common';
import { type ServiceConfig } from './config';
import { Lifecycle, type Part } from './lifecycle';
import { type HttpDeclaration } from './http';

/** A service's Prisma client, as the kit uses it: projections, replay, health. */
export type ServiceDb = TransactionalSqlClient<SqlClient> & SqlExecutor & { $disconnect(): Promise<void> };

/** What a service reads of the environment, at least. */
export type KitConfig = ServiceConfig & { readonly PORT: number };

/** A timer: `run` every `seconds`, and once at start when `now`. Its failures are logged as `<name> failed`. */
export interface Timer {
  readonly name: string;
  readonly seconds: number;
  readonly run: () => unknown;
  readonly now?: boolean;
}

/**
 * What a declaration's `parts` is given: the infrastructure the kit built, and the ways to
 * register what the service runs. Each register call returns what it registered; the
 * registration says when it starts (see STAGES), the order of calls the order within a stage.
 */
export class ServiceKit<C extends KitConfig, Db extends ServiceDb> {
  private apiSupport: ApiSupport<Db> | undefined;
  /** The projections, each with how to make it afresh (for a replay into a scratch schema). */
  readonly projections: { runner: ProjectionRunner<SqlClient>; create: () => Projection<SqlClient> }[] = [];
  /**
   * What runs on one replica of the service at a time (reactions, desired-state publishers,
   * placement loops, sweepers): started when this replica gets the leader lease, stopped when
   * it loses it, in the same stage order as the service's parts.
   */
  readonly leaderParts: Lifecycle;
  /** The service's leader lease (KV bucket `ncp_leases_<context>`, key: the context). */
  readonly lease: LeaderLease;

  constructor(
    readonly context: string,
    readonly config: C,
    readonly logger: Logger,
    readonly naming: Naming,
    readonly nc: NatsConnection,
    readonly prisma: Db,
    readonly store: JetStreamEventStore,
    readonly lifecycle: Lifecycle,
  ) {
    this.leaderParts = new Lifecycle(logger);
    this.lease = new LeaderLease(nc, naming, {
      key: context,
      holder: config.INSTANCE_ID,
      ttlSeconds: config.LEADER_LEASE_SECONDS,
      replicas: config.NATS_REPLICAS,
      onAcquired: () => this.leaderParts.start(),
      onLost: () => this.leaderParts.stop(),
      logger,
    });
  }

  /** `fn`, called only while this replica leads: a nudge of a placement loop from a projection that moves on every replica. */
  readonly onlyWhenLeading = <A extends unknown[]>(fn: (...args: A) => void): ((...args: A) => void) => {
    return (...args) => {
      if (this.lease.isLeader) fn(...args);
    };
  };

  /**
   * A projection into the service's schema. `create` is called again for each replay. The
   * first one is the API's: a write answers once it has applied the write's event.
   */
  readonly project = <Tx extends SqlClient>(create: () => Projection<Tx>, opts: Pick<ProjectionRunnerOptions, 'onAdvance'> = {}): ProjectionRunner<Tx> => {
    // The service's own client is the transaction client of its projections.
    const db = this.prisma as unknown as TransactionalSqlClient<Tx>;
    const runner = new ProjectionRunner(this.store, create(), new SqlProjectionStore<Tx>(db), {
      instance: this.config.INSTANCE_ID,
      logger: this.logger,
      onAdvance: opts.onAdvance,
    });
    this.projections.push({ runner, create });
    return this.lifecycle.add('projections', runner, `projection ${runner.projection.name}`);
  };

  /** A reaction to events (a process manager step), run by the leader. */
  readonly react = (reaction: Reaction): ReactionRunner => {
    return this.leaderParts.add('projections', new ReactionRunner(this.store, reaction, this.logger), `reaction ${reaction.name}`);
  };

  /**
   * A reaction to the agents' status reports: `handle` is called for each resource reported,
   * with the reporting host and the metadata to record (the agent as actor, the report as cause).
   */
  readonly reactToAgentReports = (name: string, handle: (resource: ResourceReport, host: string, meta: CommandMetadata) => Promise<void>): ReactionRunner => {
    return this.react({
      name,
      filter: this.naming.eventsOfContext('agent'),
      handle: async (recorded) => {
        const report = agentStatusReport(recorded);
        if (!report) return;
        for (const r of report.resources) await handle(r, report.host, report.meta);
      },
    });
  };

  /** Something the projections' consumers read as soon as they move: agents' heartbeats, liveness. */
  readonly watch = <P extends Part>(part: P, name?: string): P => {
    return this.lifecycle.add('watchers', part, name);
  };

  /** A desired-state publisher, run by the leader: it folds the projections' tables, so it starts after them. */
  readonly publish = <P extends Part>(publisher: P, name?: string): P => {
    return this.leaderParts.add('publishers', publisher, name);
  };

  /** `cmd.<context>.*`: what other services ask of this one. */
  readonly commands = (handlers: Readonly<Record<string, CommandHandler>>): CommandResponder => {
    // the replies its replicas share, so that a command a caller sends again is applied once
    const replies = () => KvCommandReplies.open(this.nc, this.naming, this.context, this.config.NATS_REPLICAS);
    return this.lifecycle.add('commands', new CommandResponder(this.nc, this.naming, this.context, handlers, this.logger, replies), 'command responder');
  };

  /** A placement loop or a sweeper, run by the leader: started last, stopped first. */
  readonly every = (timer: Timer): Timer => {
    let interval: NodeJS.Timeout | undefined;
    const run = () => {
      try {
        Promise.resolve(timer.run()).catch((err: unknown) => this.logger.error({ err }, `${timer.name} failed`));
      } catch (err) {
        this.logger.error({ err }, `${timer.name} failed`);
      }
    };
    this.leaderParts.add(
      'timers',
      {
        start: () => {
          if (timer.now) run();
          interval = setInterval(run, timer.seconds * 1000);
          interval.unref();
        },
        stop: () => clearInterval(interval),
      },
      timer.name,
    );
    return timer;
  };

  /** The API's reads and read-your-writes, on the first projection. */
  get api(): ApiSupport<Db> {
    const first = this.projections[0];
    if (!first) throw new Error(`${this.context} has no projection for its API to read`);
    this.apiSupport ??= new ApiSupport(
      new ReadModel(this.prisma, this.config.PAGINATION_MAX_LIMIT > 0 ? this.config.PAGINATION_MAX_LIMIT : undefined),
      first.runner,
      // with Keystone, the edge sets the identity of every request it lets through
      this.config.AUTH_STRATEGY === 'keystone'
        ? null
        : {
            defaultProjectId: this.config.DEFAULT_PROJECT_ID,
            defaultRoles: this.config.DEFAULT_ROLES.split(',').map((r) => r.trim().toLowerCase()),
          },
    );
    return this.apiSupport;
  }
}

export interface ServiceDeclaration<C extends KitConfig, Db extends ServiceDb, P extends object, D extends object> {
  /** Names the logger, the NATS connection and the metrics. */
  readonly name: string;
  /** The event context: admin and command subjects (`admin.<context>.*`); the name unless said. */
  readonly context?: string;
  /** Reads the environment (`main`). */
  readonly config: (env?: Record<string, string | undefined>) => C;
  /** The service's own Postgres schema and its client on a schema (its own, or a replay's scratch copy). */
  readonly database: { readonly schema: string; readonly connect: (url: string, schema: string) => Db };
  /** Every event type the service reads or writes. */
  readonly events: readonly EventDefinition[];
  /** The deciders whose histories `netctl aggregate history` asks for. */
  readonly histories: readonly Decider<unknown, never, DomainEvent>[];
  /** Builds the service's parts on the kit; what it returns the service exposes (to its HTTP module, to tests). */
  readonly parts: (kit: ServiceKit<C, Db>, deps: Partial<D>) => P;
  readonly http: HttpDeclaration<Service<C, Db, P>>;
}

export interface ServiceCore<C extends KitConfig, Db extends ServiceDb> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  readonly naming: Naming;
  readonly nc: NatsConnection;
  readonly prisma: Db;
  readonly store: JetStreamEventStore;
  readonly api: ApiSupport<Db>;
  readonly projections: readonly ProjectionRunner<SqlClient>[];
  readonly admin: AdminResponder;
  readonly lease: LeaderLease;
  /** Parts by stage, in start order; the leader's own as `leader <stage>` (they start when the lease is held). */
  plan(): { stage: string; parts: string[] }[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type Service<C extends KitConfig, Db extends ServiceDb, P extends object> = ServiceCore<C, Db> & P;

export interface ServiceDefinition<C extends KitConfig, Db extends ServiceDb, P extends object, D extends object> {
  readonly declaration: ServiceDeclaration<C, Db, P, D>;
  /** `deps`: parts a test brings instead of the real ones (see the declaration's `parts`). */
  create(config: C, logger?: Logger, deps?: Partial<D>): Promise<Service<C, Db, P>>;
}

/** The service of a definition, as a type. */
export type ServiceOf<T> = T extends ServiceDefinition<infer C, infer Db, infer P, infer _D> ? Service<C, Db, P> : never;

export function defineService<C extends KitConfig, Db extends ServiceDb, P extends object, D extends object = object>(
  declaration: ServiceDeclaration<C, Db, P, D>,
): ServiceDefinition<C, Db, P, D> {
  return {
    declaration,
    create: (config, logger, deps) => createService(declaration, config, logger ?? createLogger(declaration.name, config.LOG_LEVEL), deps ?? {}),
  };
}

async function createService<C extends KitConfig, Db extends ServiceDb, P extends object, D extends object>(
  decl: ServiceDeclaration<C, Db, P, D>,
  config: C,
  logger: Logger,
  deps: Partial<D>,
): Promise<Service<C, Db, P>> {
  const context = decl.context ?? decl.name;
  const naming = new Naming({ prefix: config.NATS_PREFIX });
  const nc = await connectNats(config.NATS_URL, `${decl.name}-${config.INSTANCE_ID}`, { user: config.NATS_USER, password: config.NATS_PASSWORD });
  const lifecycle = new Lifecycle(logger);
  const connect = (schema: string) => decl.database.connect(withSchema(config.DATABASE_URL, schema), schema);
  let prisma: Db | undefined;
  try {
    prisma = connect(decl.database.schema);
    // stopped last: what runs on them is stopped first
    const db = prisma;
    lifecycle.add('connections', { start: () => undefined, stop: () => db.$disconnect() }, 'postgres');
    lifecycle.add('connections', { start: () => undefined, stop: () => nc.drain() }, 'nats');
    const store = new JetStreamEventStore(nc, naming, new EventRegistry(decl.events), { replicas: config.NATS_REPLICAS });
    lifecycle.add('stream', { start: () => store.ensureStream(), stop: () => undefined }, 'event stream');
    lifecycle.add('stream', { start: () => ensureSharedBuckets(nc, naming, config.NATS_REPLICAS), stop: () => undefined }, 'shared buckets');
    const kit = new ServiceKit(context, config, logger, naming, nc, prisma, store, lifecycle);
    const parts = decl.parts(kit, deps);
    const projections = kit.projections.map((p) => p.runner);
    // what `netctl` asks: projection status, parked events, rebuild and replay, aggregate histories
    const admin = new AdminResponder(
      nc,
      naming,
      context,
      projections,
      store,
      decl.histories.map((d) => historyOf(d)),
      logger,
      (toSequence, schema) =>
        replayIntoScratch({
          sql: db,
          liveSchema: decl.database.schema,
          schema,
          toSequence,
          store,
          projections: kit.projections.map((p) => p.create()),
          connect,
        }),
    );
    lifecycle.add('admin', admin, 'admin responder');
    // last: the leader's parts use all of the above
    lifecycle.add('timers', kit.lease, 'leader lease');
    const core: ServiceCore<C, Db> = {
      name: decl.name,
      config,
      logger,
      naming,
      nc,
      prisma,
      store,
      api: kit.api,
      projections,
      admin,
      lease: kit.lease,
      plan: () => [...lifecycle.plan(), ...kit.leaderParts.plan().map((s) => ({ stage: `leader ${s.stage}`, parts: s.parts }))],
      start: () => lifecycle.start(),
      stop: () => lifecycle.stop(),
    };
    return Object.assign(core, parts);
  } catch (err) {
    await prisma?.$disconnect();
    await nc.close();
    throw err;
  }
}
