import { EventRegistry, Naming, agentEventDefinitions, dhcpEventDefinitions, ipamEventDefinitions, DESIRED_KINDS } from '@ncp/contracts';
import {
  DesiredStatePublisher,
  HeartbeatWatcher,
  IpamClient,
  JetStreamEventStore,
  ProjectionRunner,
  ReactionRunner,
  SqlProjectionStore,
  AdminResponder,
  connectNats,
  historyOf,
  replayIntoScratch,
  type NatsConnection,
} from '@ncp/eventstore';
import { dhcpServerDecider } from './domain/server.decider';
import { ApiSupport, ReadModel, createLogger, withSchema, type Logger } from '@ncp/nest-common';
import { DhcpServers } from './application/servers';
import { type DhcpConfig } from './config';
import { dhcpAndRaIntents } from './desired-state/intents';
import { DhcpStatusFromAgentReports } from './desired-state/status.reaction';
import { createPrisma, DHCP_SCHEMA, type DhcpPrisma, type DhcpTx } from './infrastructure/prisma';
import { DhcpProjection } from './projection/dhcp.projection';

/** The composition root of the DHCP service. */
export class DhcpContext {
  private admin: AdminResponder | undefined;
  private placementTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly config: DhcpConfig,
    readonly logger: Logger,
    readonly nc: NatsConnection,
    readonly prisma: DhcpPrisma,
    readonly store: JetStreamEventStore,
    readonly projection: ProjectionRunner<DhcpTx>,
    readonly api: ApiSupport<DhcpPrisma>,
    readonly servers: DhcpServers,
    readonly heartbeats: HeartbeatWatcher,
    readonly publisher: DesiredStatePublisher,
    readonly status: ReactionRunner,
  ) {}

  static async create(config: DhcpConfig, logger = createLogger('dhcp', config.LOG_LEVEL)): Promise<DhcpContext> {
    const naming = new Naming({ prefix: config.NATS_PREFIX });
    const nc = await connectNats(config.NATS_URL, `dhcp-${config.INSTANCE_ID}`);
    const prisma = createPrisma(withSchema(config.DATABASE_URL, DHCP_SCHEMA));
    const store = new JetStreamEventStore(nc, naming, new EventRegistry([...dhcpEventDefinitions, ...ipamEventDefinitions, ...agentEventDefinitions]));
    const publisher = new DesiredStatePublisher(
      nc,
      naming,
      [DESIRED_KINDS.dhcp, DESIRED_KINDS.ra],
      () =>
        dhcpAndRaIntents(
          prisma,
          { domain: config.DHCP_DOMAIN, leaseSeconds: config.DHCP_LEASE_SECONDS },
          {
            routerLifetime: config.RA_ROUTER_LIFETIME,
            validLifetime: config.RA_VALID_LIFETIME,
            preferredLifetime: config.RA_PREFERRED_LIFETIME,
            minInterval: config.RA_MIN_INTERVAL,
            maxInterval: config.RA_MAX_INTERVAL,
          },
        ),
      logger,
    );
    const heartbeats = new HeartbeatWatcher(nc, naming, config.AGENT_DOWN_SECONDS);
    // The placement reads DHCP's projection, which calls it back when it moves: the closure
    // is only called after both exist.
    const servers: DhcpServers = new DhcpServers(store, prisma, new IpamClient(nc, naming), heartbeats, () => projection.catchUp(), logger);
    const projection = new ProjectionRunner(store, new DhcpProjection(naming), new SqlProjectionStore<DhcpTx>(prisma), {
      instance: config.INSTANCE_ID,
      logger,
      onAdvance: () => {
        publisher.schedule();
        servers.reconcileSoon();
      },
    });
    const api = new ApiSupport(new ReadModel(prisma, config.PAGINATION_MAX_LIMIT > 0 ? config.PAGINATION_MAX_LIMIT : undefined), projection, {
      defaultProjectId: config.DEFAULT_PROJECT_ID,
      defaultRoles: config.DEFAULT_ROLES.split(',').map((r) => r.trim().toLowerCase()),
    });
    return new DhcpContext(
      config,
      logger,
      nc,
      prisma,
      store,
      projection,
      api,
      servers,
      heartbeats,
      publisher,
      new ReactionRunner(store, new DhcpStatusFromAgentReports(naming.eventsOfContext('agent'), servers), logger),
    );
  }

  async start(): Promise<void> {
    await this.store.ensureStream();
    await this.heartbeats.start();
    await this.projection.start();
    // what `netctl` asks: projection status and rebuild, aggregate histories
    this.admin = new AdminResponder(this.nc, this.store.naming, 'dhcp', [this.projection], this.store, [historyOf(dhcpServerDecider)], this.logger, (toSequence, schema) =>
      replayIntoScratch({
        sql: this.prisma,
        liveSchema: DHCP_SCHEMA,
        schema,
        toSequence,
        store: this.store,
        projections: [new DhcpProjection(this.store.naming)],
        connect: (s) => createPrisma(withSchema(this.config.DATABASE_URL, s), s),
      }),
    );
    this.admin.start();
    await this.publisher.start();
    await this.status.start();
    this.servers.reconcileSoon();
    this.placementTimer = setInterval(() => this.servers.reconcileSoon(), this.config.PLACEMENT_INTERVAL_SECONDS * 1000);
    this.placementTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.placementTimer) clearInterval(this.placementTimer);
    await this.status.stop();
    this.publisher.stop();
    this.heartbeats.stop();
    await this.admin?.stop();
    await this.projection.stop();
    await this.nc.drain();
    await this.prisma.$disconnect();
  }
}
