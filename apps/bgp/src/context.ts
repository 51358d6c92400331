import { DESIRED_KINDS, agentEventDefinitions, bgpEventDefinitions, ipamEventDefinitions, l3EventDefinitions } from '@ncp/contracts';
import { DesiredStatePublisher, HeartbeatWatcher } from '@ncp/eventstore';
import { AGENT_NOT_FOUND, pathIdsOf } from '@ncp/nest-common';
import { defineService, type ServiceOf } from '@ncp/service-kit';
import { peerDecider } from './domain/peer.decider';
import { speakerDecider } from './domain/speaker.decider';
import { BGP_PRISMA, DrAgentsController, HEARTBEATS, PeersController, SpeakersController } from './api/bgp.controllers';
import { REQUEST_SCHEMAS } from './api/bodies';
import { BGP_EXTENSIONS } from './api/extensions';
import { peersReader, speakers } from './api/resources';
import { BgpCommands } from './application/commands';
import { learnedRoutesFromAgentReports } from './application/learned.reaction';
import { BgpPlacement } from './application/placement';
import { bgpConfig } from './config';
import { bgpSpeakerIntents } from './desired-state/intents';
import { createPrisma, BGP_SCHEMA } from './infrastructure/prisma';
import { BgpProjection } from './projection/bgp.projection';

/** The BGP service, declared on the service kit. */
export const BgpContext = defineService({
  name: 'bgp',
  config: bgpConfig,
  database: { schema: BGP_SCHEMA, connect: createPrisma },
  events: [...bgpEventDefinitions, ...ipamEventDefinitions, ...l3EventDefinitions, ...agentEventDefinitions],
  histories: [speakerDecider, peerDecider],
  parts: ({ config, logger, naming, nc, prisma, store, project, reactToAgentReports, watch, publish, every, onlyWhenLeading }) => {
    const publisher = publish(new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.bgp], () => bgpSpeakerIntents(prisma), logger));
    const heartbeats = watch(new HeartbeatWatcher(nc, naming, config.AGENT_DOWN_SECONDS));
    // The commands and the placement read BGP's projection, which calls the placement back
    // when it moves: the closures are only called after all exist.
    const catchUp = () => projection.catchUp();
    // every replica folds the projection; the leader alone places and publishes
    const placeSoon = onlyWhenLeading(() => placement.reconcileSoon());
    const commands: BgpCommands = new BgpCommands(store, prisma, catchUp, placeSoon);
    const placement: BgpPlacement = new BgpPlacement(prisma, commands, heartbeats, catchUp, logger);
    const projection = project(() => new BgpProjection(naming), {
      onAdvance: onlyWhenLeading(() => {
        publisher.schedule();
        placement.reconcileSoon();
      }),
    });
    reactToAgentReports('bgp_learned_routes', learnedRoutesFromAgentReports(commands));
    every({ name: 'speaker placement', seconds: config.PLACEMENT_INTERVAL_SECONDS, now: true, run: () => placement.reconcileSoon() });
    return { projection, commands, placement, heartbeats, publisher };
  },
  http: {
    extensions: BGP_EXTENSIONS,
    controllers: [SpeakersController, PeersController, DrAgentsController],
    provide: (s) => [
      [BgpCommands, s.commands],
      [BGP_PRISMA, s.prisma],
      [HEARTBEATS, s.heartbeats],
    ],
    pathIds: pathIdsOf([speakers, peersReader(() => false)], { agents: AGENT_NOT_FOUND }),
    openapi: {
      title: 'ncp BGP',
      description:
        "Neutron dynamic routing: BGP speakers and peers. Tenant subnets in the gateway subnet's address scope and floating IPs are advertised, next hop the router's gateway address, by BIRD 2 on two bgp agents per speaker. Beyond Neutron: dual-stack speakers (ip_version null), session status on peers, peers' import policies (accept_default_route, accepted_prefixes, max_prefixes) with the routes learned (get_learned_routes), and BFD.",
      requests: { 'bgp-speakers': ['bgp_speaker', REQUEST_SCHEMAS.bgp_speaker], 'bgp-peers': ['bgp_peer', REQUEST_SCHEMAS.bgp_peer] },
    },
  },
});
export type BgpContext = ServiceOf<typeof BgpContext>;
