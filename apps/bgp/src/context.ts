import { DESIRED_KINDS, EventRegistry, Naming, agentEventDefinitions, bgpEventDefinitions, ipamEventDefinitions, l3EventDefinitions } from '@ncp/contracts';
import { DesiredStatePublisher, HeartbeatWatcher, JetStreamEventStore, ProjectionRunner, SqlProjectionStore, AdminResponder, connectNats, historyOf, replayIntoScratch, type NatsConnection } from '@ncp/eventstore';
import { peerDecider } from './domain/peer.decider';
import { speakerDecider } from './domain/speaker.decider';
import { ApiSupport, ReadModel, createLogger, withSchema, type Logger } from '@ncp/nest-common';
import { BgpCommands } from './application/commands';
import { BgpPlacement } from './application/placement';
import { type BgpConfig } from './config';
import { bgpSpeakerIntents } from './desired-state/intents';
import { createPrisma, BGP_SCHEMA, type BgpPrisma, type BgpTx } from './infrastructure/prisma';
import { BgpProjection } from './projection/bgp.projection';

/** The composition root of the BGP service. */
export class BgpContext {
  private admin: AdminResponder | undefined;
  private placementTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly config: BgpConfig,
    readonly logger: Logger,
    readonly nc: NatsConnection,
    readonly prisma: BgpPrisma,
    readonly store: JetStreamEventStore,
    readonly projection: ProjectionRunner<BgpTx>,
    readonly api: ApiSupport<BgpPrisma>,
    readonly commands: BgpCommands,
    readonly placement: BgpPlacement,
    readonly heartbeats: HeartbeatWatcher,
    readonly publisher: DesiredStatePublisher,
  ) {}

  static async create(config: BgpConfig, logger = createLogger('bgp', config.LOG_LEVEL)): Promise<BgpContext> {
    const naming = new Naming({ prefix: config.NATS_PREFIX });
    const nc = await connectNats(config.NATS_URL, `bgp-${config.INSTANCE_ID}`);
    const prisma = createPrisma(withSchema(config.DATABASE_URL, BGP_SCHEMA));
    const store = new JetStreamEventStore(nc, naming, new EventRegistry([...bgpEventDefinitions, ...ipamEventDefinitions, ...l3EventDefinitions, ...agentEventDefinitions]));
    const publisher = new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.bgp], () => bgpSpeakerIntents(prisma), logger);
    const heartbeats = new HeartbeatWatcher(nc, naming, config.AGENT_DOWN_SECONDS);
    // The commands and the placement read BGP's projection, which calls the placement back
    // when it moves: the closures are only called after all exist.
    const catchUp = () => projection.catchUp();
    const commands: BgpCommands = new BgpCommands(store, prisma, catchUp, () => placement.reconcileSoon());
    const placement: BgpPlacement = new BgpPlacement(prisma, commands, heartbeats, catchUp, logger);
    const projection = new ProjectionRunner(store, new BgpProjection(naming), new SqlProjectionStore<BgpTx>(prisma), {
      instance: config.INSTANCE_ID,
      logger,
      onAdvance: () => {
        publisher.schedule();
        placement.reconcileSoon();
      },
    });
    const api = new ApiSupport(new ReadModel(prisma, config.PAGINATION_MAX_LIMIT > 0 ? config.PAGINATION_MAX_LIMIT : undefined), projection, {
      defaultProjectId: config.DEFAULT_PROJECT_ID,
      defaultRoles: config.DEFAULT_ROLES.split(',').map((r) => r.trim().toLowerCase()),
    });
    return new BgpContext(config, logger, nc, prisma, store, projection, api, commands, placement, heartbeats, publisher);
  }

  async start(): Promise<void> {
    await this.store.ensureStream();
    await this.heartbeats.start();
    await this.projection.start();
    // what `netctl` asks: projection status and rebuild, aggregate histories
    this.admin = new AdminResponder(this.nc, this.store.naming, 'bgp', [this.projection], this.store, [historyOf(speakerDecider), historyOf(peerDecider)], this.logger, (toSequence, schema) =>
      replayIntoScratch({
        sql: this.prisma,
        liveSchema: BGP_SCHEMA,
        schema,
        toSequence,
        store: this.store,
        projections: [new BgpProjection(this.store.naming)],
        connect: (s) => createPrisma(withSchema(this.config.DATABASE_URL, s), s),
      }),
    );
    this.admin.start();
    await this.publisher.start();
    this.placement.reconcileSoon();
    this.placementTimer = setInterval(() => this.placement.reconcileSoon(), this.config.PLACEMENT_INTERVAL_SECONDS * 1000);
    this.placementTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.placementTimer) clearInterval(this.placementTimer);
    this.publisher.stop();
    this.heartbeats.stop();
    await this.admin?.stop();
    await this.projection.stop();
    await this.nc.drain();
    await this.prisma.$disconnect();
  }
}
