import { EventRegistry, Naming, agentEventDefinitions, ipamEventDefinitions, l3EventDefinitions } from '@ncp/contracts';
import {
  type DesiredStatePublisher,
  HeartbeatWatcher,
  IpamClient,
  JetStreamEventStore,
  ProjectionRunner,
  ReactionRunner,
  SqlProjectionStore,
  AdminResponder,
  CommandResponder,
  connectNats,
  historyOf,
  replayIntoScratch,
  type NatsConnection,
} from '@ncp/eventstore';
import { floatingIpDecider } from './domain/floating-ip.decider';
import { l3RegistryDecider } from './domain/registry.decider';
import { routerDecider } from './domain/router.decider';
import { ApiSupport, ReadModel, createLogger, withSchema, type Logger } from '@ncp/nest-common';
import { IpamFacts } from './application/facts';
import { DisassociateFloatingIpsWhenPortDeleted } from './application/disassociate-floating-ips-when-port-deleted.reaction';
import { FloatingIpCommands } from './application/floating-ip.commands';
import { L3OrphanSweeper } from './application/orphan-sweeper';
import { RouterPlacement } from './application/placement';
import { RouterCommands } from './application/router.commands';
import { serviceMeta } from '@ncp/contracts';
import { L3WriteModel, type IpamPorts } from './application/write-model';
import { type L3Config } from './config';
import { routerIntentPublisher } from './desired-state/router-publisher';
import { L3StatusFromAgentReports } from './desired-state/status.reaction';

import { createPrisma, L3_SCHEMA, type L3Prisma, type L3Tx } from './infrastructure/prisma';
import { L3Projection } from './projection/l3.projection';
import { z } from 'zod';

/** The composition root of the L3 service. */
export class L3Context {
  private admin: AdminResponder | undefined;
  private placementTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly config: L3Config,
    readonly logger: Logger,
    readonly nc: NatsConnection,
    readonly prisma: L3Prisma,
    readonly store: JetStreamEventStore,
    readonly projection: ProjectionRunner<L3Tx>,
    readonly api: ApiSupport<L3Prisma>,
    readonly routers: RouterCommands,
    readonly floatingIps: FloatingIpCommands,
    readonly placement: RouterPlacement,
    readonly heartbeats: HeartbeatWatcher,
    readonly publisher: DesiredStatePublisher,
    readonly status: ReactionRunner,
    readonly portDeleted: ReactionRunner,
    readonly sweeper: L3OrphanSweeper,
    readonly model: L3WriteModel,
    readonly commands: CommandResponder,
  ) {}

  /** `ipam`: IPAM's port commands, over NATS unless a test brings its own (to fail them at will). */
  static async create(config: L3Config, logger = createLogger('l3', config.LOG_LEVEL), deps: { ipam?: IpamPorts } = {}): Promise<L3Context> {
    const naming = new Naming({ prefix: config.NATS_PREFIX });
    const nc = await connectNats(config.NATS_URL, `l3-${config.INSTANCE_ID}`);
    const prisma = createPrisma(withSchema(config.DATABASE_URL, L3_SCHEMA));
    const store = new JetStreamEventStore(nc, naming, new EventRegistry([...l3EventDefinitions, ...ipamEventDefinitions, ...agentEventDefinitions]));
    const model = new L3WriteModel(store);
    const publisher = routerIntentPublisher(nc, naming, prisma, logger);
    const projection = new ProjectionRunner(store, new L3Projection(naming), new SqlProjectionStore<L3Tx>(prisma), {
      instance: config.INSTANCE_ID,
      logger,
      onAdvance: () => publisher.schedule(),
    });
    const api = new ApiSupport(new ReadModel(prisma, config.PAGINATION_MAX_LIMIT > 0 ? config.PAGINATION_MAX_LIMIT : undefined), projection, {
      defaultProjectId: config.DEFAULT_PROJECT_ID,
      defaultRoles: config.DEFAULT_ROLES.split(',').map((r) => r.trim().toLowerCase()),
    });
    const heartbeats = new HeartbeatWatcher(nc, naming, config.AGENT_DOWN_SECONDS);
    const ipam = deps.ipam ?? new IpamClient(nc, naming);
    const facts = new IpamFacts(prisma);
    const placement = new RouterPlacement(prisma, model, ipam, heartbeats, logger);
    // Reads of IPAM facts wait until L3's copy has everything IPAM had when asked.
    const catchUp = () => projection.catchUp();
    const floatingIps = new FloatingIpCommands(model, facts, ipam, prisma, catchUp, logger);
    return new L3Context(
      config,
      logger,
      nc,
      prisma,
      store,
      projection,
      api,
      new RouterCommands(model, facts, ipam, placement, floatingIps, catchUp, logger),
      floatingIps,
      placement,
      heartbeats,
      publisher,
      new ReactionRunner(store, new L3StatusFromAgentReports(naming.eventsOfContext('agent'), model), logger),
      new ReactionRunner(store, new DisassociateFloatingIpsWhenPortDeleted(naming.eventsOfAggregateType('ipam', 'network'), floatingIps), logger),
      new L3OrphanSweeper(prisma, model, floatingIps, ipam, config.ORPHAN_GRACE_SECONDS, logger),
      model,
      // What other services ask of L3: IPAM, deleting an external network.
      new CommandResponder(
        nc,
        naming,
        'l3',
        {
          delete_unassociated_floatingips: async (input, meta) => {
            const { network_id } = z.object({ network_id: z.string().min(1) }).parse(input);
            return { deleted: await floatingIps.deleteUnassociatedOn(network_id, meta) };
          },
        },
        logger,
      ),
    );
  }

  async start(): Promise<void> {
    await this.store.ensureStream();
    await this.heartbeats.start();
    await this.projection.start();
    // what `netctl` asks: projection status and rebuild, aggregate histories
    this.admin = new AdminResponder(this.nc, this.store.naming, 'l3', [this.projection], this.store, [historyOf(routerDecider), historyOf(floatingIpDecider), historyOf(l3RegistryDecider)], this.logger, (toSequence, schema) =>
      replayIntoScratch({
        sql: this.prisma,
        liveSchema: L3_SCHEMA,
        schema,
        toSequence,
        store: this.store,
        projections: [new L3Projection(this.store.naming)],
        connect: (s) => createPrisma(withSchema(this.config.DATABASE_URL, s), s),
      }),
    );
    this.admin.start();
    await this.publisher.start();
    await this.status.start();
    await this.portDeleted.start();
    this.commands.start();
    this.sweepTimer = setInterval(
      () => {
        this.sweeper.sweep(new Date()).catch((err: unknown) => this.logger.error({ err }, 'orphan sweep failed'));
      },
      Math.max(1, Math.floor(this.config.ORPHAN_GRACE_SECONDS / 2)) * 1000,
    );
    this.sweepTimer.unref();
    this.placementTimer = setInterval(() => {
      this.placeUnscheduledRouters().catch((err: unknown) => this.logger.error({ err }, 'router placement failed'));
    }, this.config.PLACEMENT_INTERVAL_SECONDS * 1000);
    this.placementTimer.unref();
  }

  /** Routers with ports but no host (no agent could take them yet) are placed when one can. */
  async placeUnscheduledRouters(): Promise<void> {
    const waiting = await this.prisma.router.findMany({
      where: { host: null, OR: [{ gatewayPortId: { not: null } }, { interfaces: { some: {} } }] },
      select: { id: true },
    });
    for (const r of waiting) {
      const meta = serviceMeta('l3:placement', new Date());
      if ((await this.placement.ensureScheduled(r.id, meta)) !== null) await this.placement.bindPorts(r.id, meta);
    }
  }

  async stop(): Promise<void> {
    if (this.placementTimer) clearInterval(this.placementTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.commands.stop();
    await this.portDeleted.stop();
    await this.status.stop();
    this.publisher.stop();
    this.heartbeats.stop();
    await this.admin?.stop();
    await this.projection.stop();
    await this.nc.drain();
    await this.prisma.$disconnect();
  }
}
