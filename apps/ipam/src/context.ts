import { EventRegistry, Naming, agentEventDefinitions, ipamEventDefinitions } from '@ncp/contracts';
import { AdminResponder, CommandClient, CommandResponder, JetStreamEventStore, ProjectionRunner, ReactionRunner, SqlProjectionStore, SqlSnapshotStore, connectNats, historyOf, replayIntoScratch, type NatsConnection } from '@ncp/eventstore';
import { addressScopeDecider } from './domain/address-scope.decider';
import { bulkCreateDecider } from './domain/bulk-create.decider';
import { networkDecider } from './domain/network.decider';
import { registryDecider } from './domain/registry.decider';
import { subnetPoolDecider } from './domain/subnet-pool.decider';
import { ApiSupport, ReadModel, createLogger, withSchema, type Logger } from '@ncp/nest-common';
import { AddressScopeCommands } from './application/address-scope.commands';
import { BulkCreateCommands } from './application/bulk-create.commands';
import { FollowUps } from './application/follow-ups';
import { AggregateLookups } from './application/lookups';
import { NetworkCommands } from './application/network.commands';
import { OrphanSweeper } from './application/orphan-sweeper';
import { PortCommands } from './application/port.commands';
import { SubnetCommands } from './application/subnet.commands';
import { SubnetPoolCommands } from './application/subnet-pool.commands';
import { IpamWriteModel } from './application/write-model';
import { createPortInput, updatePortInput } from './api/bodies';
import { ports } from './api/resources';
import { type IpamConfig } from './config';
import { createPrisma, IPAM_SCHEMA, type IpamPrisma, type IpamTx } from './infrastructure/prisma';

import { IpamProjection } from './projection/ipam.projection';
import { AgentsProjection } from './projection/agents.projection';
import { AgentLiveness } from './desired-state/agent-liveness';
import { DesiredStatePublisher } from './desired-state/publisher';
import { PortStatusFromAgentReports } from './desired-state/port-status.reaction';

/** The composition root: every part of the IPAM service, wired once. */
export class IpamContext {
  private sweepTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly config: IpamConfig,
    readonly logger: Logger,
    readonly nc: NatsConnection,
    readonly prisma: IpamPrisma,
    readonly store: JetStreamEventStore,
    readonly model: IpamWriteModel,
    readonly projection: ProjectionRunner<IpamTx>,
    readonly readModel: ReadModel<IpamPrisma>,
    readonly api: ApiSupport<IpamPrisma>,
    readonly networks: NetworkCommands,
    readonly subnets: SubnetCommands,
    readonly ports: PortCommands,
    readonly subnetPools: SubnetPoolCommands,
    readonly addressScopes: AddressScopeCommands,
    readonly bulkCreates: BulkCreateCommands,
    readonly sweeper: OrphanSweeper,
    readonly responder: CommandResponder,
    readonly admin: AdminResponder,
    readonly agentsProjection: ProjectionRunner<IpamTx>,
    readonly publisher: DesiredStatePublisher,
    readonly liveness: AgentLiveness,
    readonly portStatus: ReactionRunner,
  ) {}

  static async create(config: IpamConfig, logger = createLogger('ipam', config.LOG_LEVEL)): Promise<IpamContext> {
    const naming = new Naming({ prefix: config.NATS_PREFIX });
    const nc = await connectNats(config.NATS_URL, `ipam-${config.INSTANCE_ID}`);
    const prisma = createPrisma(withSchema(config.DATABASE_URL, IPAM_SCHEMA));
    const store = new JetStreamEventStore(nc, naming, new EventRegistry([...ipamEventDefinitions, ...agentEventDefinitions]));
    const model = new IpamWriteModel(
      store,
      new SqlSnapshotStore(prisma),
      {
        segments: {
          tenantNetworkType: config.TENANT_NETWORK_TYPE,
          vxlanRange: config.VXLAN_VNI_RANGE,
          vlanRanges: config.VLAN_RANGES,
          physicalNetworks: config.PHYSICAL_NETWORKS.split(',').map((p) => p.trim()).filter((p) => p !== ''),
        },
        mtu: { physicalMtu: config.PHYSICAL_MTU, vxlanOverhead: 50 },
        macPrefix: config.MAC_PREFIX.toLowerCase(),
      },
      (subject, err) => logger.warn({ err, subject }, 'snapshot not saved'),
    );
    const projection = new ProjectionRunner(store, new IpamProjection(naming.eventsOfContext('ipam')), new SqlProjectionStore<IpamTx>(prisma), {
      instance: config.INSTANCE_ID,
      logger,
    });
    const agentsProjection = new ProjectionRunner(store, new AgentsProjection(naming.eventsOfContext('agent')), new SqlProjectionStore<IpamTx>(prisma), {
      instance: config.INSTANCE_ID,
      logger,
    });
    const readModel = new ReadModel(prisma, config.PAGINATION_MAX_LIMIT > 0 ? config.PAGINATION_MAX_LIMIT : undefined);
    const api = new ApiSupport(readModel, projection, {
      defaultProjectId: config.DEFAULT_PROJECT_ID,
      defaultRoles: config.DEFAULT_ROLES.split(',').map((r) => r.trim().toLowerCase()),
    });
    const lookups = new AggregateLookups(prisma);
    const followUps = new FollowUps(model, logger);
    const portCommands = new PortCommands(model, lookups);
    const l3 = new CommandClient(nc, naming, 'l3', 'L3');
    const networkCommands = new NetworkCommands(model, followUps, {
      deleteUnassociatedOn: (networkId, meta) => l3.request('delete_unassociated_floatingips', { network_id: networkId }, meta),
    });
    const subnetCommands = new SubnetCommands(model, lookups, followUps);
    const bulkCreates = new BulkCreateCommands(model, networkCommands, subnetCommands, portCommands, (s) => projection.waitFor(s), logger);
    const responder = new CommandResponder(
      nc,
      naming,
      'ipam',
      {
        // The port commands other services need (L3's router ports), with the API's own
        // body parsing, so both paths accept exactly the same input.
        create_port: async (input, meta) => {
          const i = createPortInput({ port: input }, meta);
          const written = await portCommands.create(i.networkId, i.projectId, i.request, meta);
          return api.show(ports, written, meta);
        },
        update_port: async (input, meta) => {
          const { id, ...changes } = input as { id: string };
          return api.show(ports, await portCommands.update(id, updatePortInput({ port: changes }), undefined, meta), meta);
        },
        delete_port: async (input, meta) => {
          const { id, force } = input as { id: string; force?: boolean };
          await api.settled(await portCommands.delete(id, meta, force === true));
          return { id };
        },
      },
      logger,
    );
    return new IpamContext(
      config,
      logger,
      nc,
      prisma,
      store,
      model,
      projection,
      readModel,
      api,
      networkCommands,
      subnetCommands,
      portCommands,
      new SubnetPoolCommands(model, followUps),
      new AddressScopeCommands(model),
      bulkCreates,
      new OrphanSweeper(prisma, model, followUps, config.ORPHAN_GRACE_SECONDS, logger, bulkCreates),
      responder,
      new AdminResponder(
        nc,
        naming,
        'ipam',
        [projection, agentsProjection],
        store,
        [historyOf(networkDecider), historyOf(subnetPoolDecider), historyOf(addressScopeDecider), historyOf(registryDecider), historyOf(bulkCreateDecider)],
        logger,
        (toSequence, schema) =>
          replayIntoScratch({
            sql: prisma,
            liveSchema: IPAM_SCHEMA,
            schema,
            toSequence,
            store,
            projections: [new IpamProjection(naming.eventsOfContext('ipam')), new AgentsProjection(naming.eventsOfContext('agent'))],
            connect: (s) => createPrisma(withSchema(config.DATABASE_URL, s), s),
          }),
      ),
      agentsProjection,
      new DesiredStatePublisher(store, naming, new SqlSnapshotStore(prisma), logger),
      new AgentLiveness(nc, naming, prisma, model, config.AGENT_DOWN_SECONDS, logger),
      new ReactionRunner(store, new PortStatusFromAgentReports(naming.eventsOfContext('agent'), model), logger),
    );
  }

  async start(): Promise<void> {
    await this.store.ensureStream();
    // Side by side: each waits on NATS or Postgres, none on another.
    await Promise.all([this.projection.start(), this.agentsProjection.start(), this.liveness.start(), this.portStatus.start()]);
    // Then the desired state: its fold of the stream (from its snapshot) runs in the background,
    // after what the API needs has started; the API never waits for it.
    await this.publisher.start();
    this.responder.start();
    this.admin.start();
    const every = Math.max(5, Math.floor(this.config.ORPHAN_GRACE_SECONDS / 2)) * 1000;
    this.sweepTimer = setInterval(() => {
      this.sweeper.sweep(new Date()).catch((err: unknown) => this.logger.error({ err }, 'orphan sweep failed'));
    }, every);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.responder.stop();
    await this.admin.stop();
    await this.portStatus.stop();
    this.liveness.stop();
    await this.publisher.stop();
    await this.agentsProjection.stop();
    await this.projection.stop();
    await this.nc.drain();
    await this.prisma.$disconnect();
  }
}
