import {
  agentEventDefinitions,
  bgpEventDefinitions,
  ipamEventDefinitions,
  l3EventDefinitions,
  quotaEventDefinitions,
  serviceMeta,
  usageEventDefinitions,
  usageDecider,
} from '@ncp/contracts';
import { HeartbeatWatcher, IpamClient, QuotaUsage, projectedLimitOf } from '@ncp/eventstore';
import { pathIdsOf } from '@ncp/nest-common';
import { defineService, quotaDefaults, type ServiceOf } from '@ncp/service-kit';
import { z } from 'zod';
import { floatingIpDecider } from './domain/floating-ip.decider';
import { l3RegistryDecider } from './domain/registry.decider';
import { haNetworkDecider } from './domain/ha-network.decider';
import { routerDecider } from './domain/router.decider';
import { REQUEST_SCHEMAS } from './api/bodies';
import { L3_EXTENSIONS } from './api/extensions';
import { CATCH_UP, FloatingIpsController, HEARTBEATS, L3_PRISMA, RoutersController } from './api/l3.controllers';
import { floatingIps, routers } from './api/resources';
import { IpamFacts } from './application/facts';
import { DisassociateFloatingIpsWhenPortDeleted } from './application/disassociate-floating-ips-when-port-deleted.reaction';
import { FloatingIpCommands } from './application/floating-ip.commands';
import { L3OrphanSweeper } from './application/orphan-sweeper';
import { RouterPlacement } from './application/placement';
import { RouterCommands } from './application/router.commands';
import { l3UsageChanges } from './application/usage-changes';
import { L3WriteModel, type IpamPorts } from './application/write-model';
import { HaNetworks } from './application/ha-networks';
import { l3Config } from './config';
import { RouterIntents, routerIntentPublisher } from './desired-state/router-publisher';
import { l3StatusFromAgentReports } from './desired-state/status.reaction';
import { createPrisma, L3_SCHEMA } from './infrastructure/prisma';
import { L3Projection } from './projection/l3.projection';

/**
 * The L3 service, declared on the service kit. `ipam`: IPAM's port commands, over NATS unless
 * a test brings its own (to fail them at will).
 */
export const L3Context = defineService({
  name: 'l3',
  config: l3Config,
  database: { schema: L3_SCHEMA, connect: createPrisma },
  events: [
    ...l3EventDefinitions,
    ...usageEventDefinitions,
    ...ipamEventDefinitions,
    ...quotaEventDefinitions,
    ...agentEventDefinitions,
    ...bgpEventDefinitions,
  ],
  histories: [routerDecider, floatingIpDecider, l3RegistryDecider, haNetworkDecider, usageDecider('l3')],
  parts: ({ config, logger, naming, nc, prisma, store, project, react, reactToAgentReports, watch, publish, commands, every }, deps: { ipam?: IpamPorts }) => {
    const model = new L3WriteModel(store);
    const intents = new RouterIntents(naming, prisma, config.L3_HA_ADVERT_SECONDS);
    const publisher = publish(routerIntentPublisher(nc, naming, intents, logger));
    const projection = project(() => new L3Projection(naming), {
      onAdvance: (_sequence, folded) => {
        // without the batch's events (another replica folded part of it), anything may have changed
        const routers = folded === undefined ? undefined : intents.routersChangedBy(folded);
        if (routers === undefined) publisher.schedule();
        else if (routers.size > 0) publisher.schedule(routers);
      },
    });
    const heartbeats = watch(new HeartbeatWatcher(nc, naming, config.AGENT_DOWN_SECONDS));
    const ipam = deps.ipam ?? new IpamClient(nc, naming);
    const facts = new IpamFacts(prisma);
    const haNetworks = new HaNetworks(model, ipam, logger);
    const placement = new RouterPlacement(prisma, model, ipam, heartbeats, logger, haNetworks);
    // Reads of IPAM facts wait until L3's copy has everything IPAM had when asked.
    const catchUp = () => projection.catchUp();
    const floatingIps = new FloatingIpCommands(model, facts, ipam, prisma, catchUp, logger);
    const status = reactToAgentReports('l3_status', l3StatusFromAgentReports(model));
    // Limits from L3's copy of IPAM's quota events, caught up first: a limit just set holds at once.
    const limitOf = projectedLimitOf(prisma.quotaLimit, quotaDefaults(config));
    const quota = new QuotaUsage(store, 'l3', {
      limitOf: async (projectId, kind) => {
        await catchUp();
        return limitOf(projectId, kind);
      },
      items: prisma.quotaUsageItem,
      reservationSeconds: config.QUOTA_RESERVATION_SECONDS,
      onError: (err, msg) => logger.warn({ err }, msg),
    });
    const usageReaction = react(quota.reaction('l3_quota_usage', naming.eventsOfContext('l3'), l3UsageChanges));
    every({ name: 'quota reservation sweep', seconds: Math.max(1, Math.floor(config.QUOTA_RESERVATION_SECONDS / 2)), run: () => quota.sweep(new Date()) });
    const portDeleted = react(new DisassociateFloatingIpsWhenPortDeleted(naming.eventsOfAggregateType('ipam', 'network'), floatingIps));
    // What other services ask of L3: IPAM, deleting an external network.
    commands({
      delete_unassociated_floatingips: async (input, meta) => {
        const { network_id } = z.object({ network_id: z.string().min(1) }).parse(input);
        return { deleted: await floatingIps.deleteUnassociatedOn(network_id, meta) };
      },
    });
    const sweeper = new L3OrphanSweeper(prisma, model, floatingIps, ipam, config.ORPHAN_GRACE_SECONDS, logger);
    every({ name: 'orphan sweep', seconds: Math.max(1, Math.floor(config.ORPHAN_GRACE_SECONDS / 2)), run: () => sweeper.sweep(new Date()) });
    // Routers with ports but no host (no agent could take them yet) are placed when one can.
    every({
      name: 'router placement',
      seconds: config.PLACEMENT_INTERVAL_SECONDS,
      run: async () => {
        // HA routers every time: one whose agent died gets another (ensureHaHosts binds on a
        // change), one that was placed before it became HA leaves its host; a router that is no
        // longer HA has no host until placed (ensureScheduled lets its HA hosts go)
        const waiting = await prisma.router.findMany({
          where: { AND: [{ OR: [{ host: null }, { ha: true }] }, { OR: [{ gatewayPortId: { not: null } }, { interfaces: { some: {} } }] }] },
          select: { id: true, ha: true },
        });
        for (const r of waiting) {
          const meta = serviceMeta('l3:placement', new Date());
          if (r.ha) await placement.ensureHaHosts(r.id, meta);
          else if ((await placement.ensureScheduled(r.id, meta)) !== null) await placement.bindPorts(r.id, meta);
        }
        // legacy routers on a dead agent move to a live one
        const placed = await prisma.router.findMany({ where: { ha: false, host: { not: null } }, select: { id: true, host: true } });
        for (const r of placed) {
          if (r.host !== null && heartbeats.isDead(r.host)) await placement.moveFromDeadHost(r.id, serviceMeta('l3:placement', new Date()));
        }
      },
    });
    const routerCommands = new RouterCommands(model, facts, ipam, placement, floatingIps, catchUp, logger, config.L3_HA_DEFAULT, haNetworks);
    return {
      model,
      projection,
      routers: routerCommands,
      floatingIps,
      placement,
      haNetworks,
      heartbeats,
      publisher,
      status,
      portDeleted,
      sweeper,
      quota,
      usageReaction,
    };
  },
  http: {
    extensions: L3_EXTENSIONS,
    controllers: [RoutersController, FloatingIpsController],
    provide: (s) => [
      [RouterCommands, s.routers],
      [FloatingIpCommands, s.floatingIps],
      [L3_PRISMA, s.prisma],
      [HEARTBEATS, s.heartbeats],
      [CATCH_UP, () => s.projection.catchUp(5_000)],
      [QuotaUsage, s.quota],
    ],
    pathIds: pathIdsOf([routers, floatingIps]),
    openapi: {
      title: 'ncp L3',
      description:
        "Neutron v2.0 routers and floating IPs. Beyond Neutron: nat_exclusions on routers (destinations reached without SNAT), and no NAT at all for internal subnets in the external subnet's address scope.",
      requests: { routers: ['router', REQUEST_SCHEMAS.router], floatingips: ['floatingip', REQUEST_SCHEMAS.floatingip] },
    },
  },
});
export type L3Context = ServiceOf<typeof L3Context>;
