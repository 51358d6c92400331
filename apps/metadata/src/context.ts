import { createHmac } from 'node:crypto';
import { DESIRED_KINDS, EventRegistry, Naming, dhcpEventDefinitions, ipamEventDefinitions, l3EventDefinitions, metaEventDefinitions } from '@ncp/contracts';
import { DesiredStatePublisher, JetStreamEventStore, ProjectionRunner, SqlProjectionStore, AdminResponder, connectNats, historyOf, replayIntoScratch, type NatsConnection } from '@ncp/eventstore';
import { instanceDecider } from './domain/instance.decider';
import { ApiSupport, ReadModel, createLogger, withSchema, type Logger } from '@ncp/nest-common';
import { type MetadataSettings } from './api/metadata.controller';
import { InstanceCommands } from './application/instances';
import { type MetadataConfig } from './config';
import { metadataProxyIntents } from './desired-state/intents';
import { METADATA_SCHEMA, createPrisma, type MetadataPrisma, type MetadataTx } from './infrastructure/prisma';
import { MetadataProjection } from './projection/metadata.projection';

/** The composition root of the metadata service. */
export class MetadataContext {
  private admin: AdminResponder | undefined;
  private constructor(
    readonly config: MetadataConfig,
    readonly logger: Logger,
    readonly nc: NatsConnection,
    readonly prisma: MetadataPrisma,
    readonly store: JetStreamEventStore,
    readonly projection: ProjectionRunner<MetadataTx>,
    readonly api: ApiSupport<MetadataPrisma>,
    readonly instances: InstanceCommands,
    readonly publisher: DesiredStatePublisher,
    readonly settings: MetadataSettings,
  ) {}

  static async create(config: MetadataConfig, logger = createLogger('metadata', config.LOG_LEVEL)): Promise<MetadataContext> {
    const naming = new Naming({ prefix: config.NATS_PREFIX });
    const nc = await connectNats(config.NATS_URL, `metadata-${config.INSTANCE_ID}`);
    const prisma = createPrisma(withSchema(config.DATABASE_URL, METADATA_SCHEMA));
    const store = new JetStreamEventStore(nc, naming, new EventRegistry([...metaEventDefinitions, ...ipamEventDefinitions, ...l3EventDefinitions, ...dhcpEventDefinitions]));
    const publisher = new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.metadata], () => metadataProxyIntents(prisma), logger);
    const projection = new ProjectionRunner(store, new MetadataProjection(naming), new SqlProjectionStore<MetadataTx>(prisma), {
      instance: config.INSTANCE_ID,
      logger,
      onAdvance: () => publisher.schedule(),
    });
    const api = new ApiSupport(new ReadModel(prisma, config.PAGINATION_MAX_LIMIT > 0 ? config.PAGINATION_MAX_LIMIT : undefined), projection, {
      defaultProjectId: config.DEFAULT_PROJECT_ID,
      defaultRoles: config.DEFAULT_ROLES.split(',').map((r) => r.trim().toLowerCase()),
    });
    const settings: MetadataSettings = {
      sharedSecret: config.METADATA_PROXY_SHARED_SECRET,
      // a key of its own for tokens, derived: a token is never a valid proxy signature
      tokenKey: createHmac('sha256', config.METADATA_PROXY_SHARED_SECRET).update('imdsv2-session-token').digest('hex'),
      requireToken: config.METADATA_REQUIRE_TOKEN,
    };
    return new MetadataContext(config, logger, nc, prisma, store, projection, api, new InstanceCommands(store), publisher, settings);
  }

  async start(): Promise<void> {
    await this.store.ensureStream();
    await this.projection.start();
    // what `netctl` asks: projection status and rebuild, aggregate histories
    this.admin = new AdminResponder(this.nc, this.store.naming, 'meta', [this.projection], this.store, [historyOf(instanceDecider)], this.logger, (toSequence, schema) =>
      replayIntoScratch({
        sql: this.prisma,
        liveSchema: METADATA_SCHEMA,
        schema,
        toSequence,
        store: this.store,
        projections: [new MetadataProjection(this.store.naming)],
        connect: (s) => createPrisma(withSchema(this.config.DATABASE_URL, s), s),
      }),
    );
    this.admin.start();
    await this.publisher.start();
  }

  async stop(): Promise<void> {
    this.publisher.stop();
    await this.admin?.stop();
    await this.projection.stop();
    await this.nc.drain();
    await this.prisma.$disconnect();
  }
}
