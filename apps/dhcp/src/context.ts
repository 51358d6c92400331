import { DESIRED_KINDS, agentEventDefinitions, dhcpEventDefinitions, ipamEventDefinitions } from '@ncp/contracts';
import { DesiredStatePublisher, HeartbeatWatcher, IpamClient } from '@ncp/eventstore';
import { AGENT_NOT_FOUND, NETWORK_NOT_FOUND } from '@ncp/nest-common';
import { defineService, type ServiceOf } from '@ncp/service-kit';
import { dhcpServerDecider } from './domain/server.decider';
import { DHCP_PRISMA, DhcpAgentsController, HEARTBEATS } from './api/dhcp.controllers';
import { DHCP_EXTENSIONS } from './api/extensions';
import { DhcpServers, placementMayChange } from './application/servers';
import { dhcpConfig } from './config';
import { dhcpAndRaIntents, dhcpPartitionOf, partitionsChangedBy } from './desired-state/intents';
import { dhcpStatusFromAgentReports } from './desired-state/status.reaction';
import { createPrisma, DHCP_SCHEMA } from './infrastructure/prisma';
import { DhcpProjection } from './projection/dhcp.projection';

/** The DHCP service, declared on the service kit. */
export const DhcpContext = defineService({
  name: 'dhcp',
  config: dhcpConfig,
  database: { schema: DHCP_SCHEMA, connect: createPrisma },
  events: [...dhcpEventDefinitions, ...ipamEventDefinitions, ...agentEventDefinitions],
  histories: [dhcpServerDecider],
  parts: ({ config, logger, naming, nc, prisma, store, project, reactToAgentReports, watch, publish, every, onlyWhenLeading }) => {
    const publisher = publish(
      new DesiredStatePublisher(
        nc,
        naming,
        [DESIRED_KINDS.dhcp, DESIRED_KINDS.ra],
        (scope) =>
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
            scope,
          ),
        logger,
        { partitionOf: dhcpPartitionOf },
      ),
    );
    const heartbeats = watch(new HeartbeatWatcher(nc, naming, config.AGENT_DOWN_SECONDS));
    // The placement reads DHCP's projection, which calls it back when it moves: the closure
    // is only called after both exist.
    const servers: DhcpServers = new DhcpServers(store, prisma, new IpamClient(nc, naming), heartbeats, () => projection.catchUp(), logger);
    // every replica folds the projection; the leader alone places and publishes
    const projection = project(() => new DhcpProjection(naming), {
      // without the batch's events (another replica folded part of it), anything may have changed
      onAdvance: onlyWhenLeading((_sequence, folded) => {
        publisher.schedule(folded && partitionsChangedBy(naming, folded));
        if (folded === undefined || placementMayChange(naming, folded)) servers.reconcileSoon();
      }),
    });
    reactToAgentReports('dhcp_status', dhcpStatusFromAgentReports(servers));
    every({ name: 'dhcp placement', seconds: config.PLACEMENT_INTERVAL_SECONDS, now: true, run: () => servers.reconcileSoon() });
    return { projection, servers, heartbeats, publisher };
  },
  http: {
    extensions: DHCP_EXTENSIONS,
    controllers: [DhcpAgentsController],
    provide: (s) => [
      [DHCP_PRISMA, s.prisma],
      [HEARTBEATS, s.heartbeats],
      [DhcpServers, s.servers],
    ],
    pathIds: { agents: AGENT_NOT_FOUND, networks: NETWORK_NOT_FOUND },
    openapi: {
      title: 'ncp DHCP',
      description:
        "Where each network's DHCP server runs (Neutron's dhcp_agent_scheduler). What the servers hand out (DHCPv4 static leases and options, DHCPv6 stateful/stateless, router advertisements) follows from the networks, subnets and ports of the IPAM API.",
    },
  },
});
export type DhcpContext = ServiceOf<typeof DhcpContext>;
