import {
  DESIRED_KINDS,
  SG_PORT_GROUPS,
  agentEventDefinitions,
  ipamEventDefinitions,
  quotaEventDefinitions,
  sgEventDefinitions,
  sgProjectEventDefinitions,
  SgPortGroupsInputSchema,
  usageEventDefinitions,
  usageDecider,
} from '@ncp/contracts';
import { DesiredStatePublisher, QuotaUsage, projectedLimitOf } from '@ncp/eventstore';
import { pathIdsOf } from '@ncp/nest-common';
import { defineService, quotaDefaults, type ServiceOf } from '@ncp/service-kit';
import { REQUEST_SCHEMAS } from './api/bodies';
import { SECGROUPS_EXTENSIONS } from './api/extensions';
import { securityGroupRules, securityGroups } from './api/resources';
import { SecurityGroupRulesController, SecurityGroupsController } from './api/secgroups.controllers';
import { SecurityGroupCommands } from './application/groups';
import { sgUsageChanges } from './application/usage-changes';
import { secgroupsConfig } from './config';
import { FilteringState, filteringChangesOf, filteringUnchangedBy, prismaFilteringReader } from './desired-state/intents';
import { groupDecider } from './domain/group.decider';
import { projectDecider } from './domain/project.decider';
import { SECGROUPS_SCHEMA, createPrisma } from './infrastructure/prisma';
import { SecgroupsProjection } from './projection/secgroups.projection';

/** The security groups service, declared on the service kit. */
export const SecgroupsContext = defineService({
  name: 'secgroups',
  context: 'sg',
  config: secgroupsConfig,
  database: { schema: SECGROUPS_SCHEMA, connect: createPrisma },
  events: [
    ...sgEventDefinitions,
    ...sgProjectEventDefinitions,
    ...usageEventDefinitions,
    ...ipamEventDefinitions,
    ...quotaEventDefinitions,
    ...agentEventDefinitions,
  ],
  histories: [groupDecider, projectDecider, usageDecider('sg')],
  parts: ({ config, logger, naming, nc, prisma, store, project, react, publish, commands, every }) => {
    const filtering = new FilteringState(prismaFilteringReader(prisma));
    const publisher = publish(
      new DesiredStatePublisher(
        nc,
        naming,
        [DESIRED_KINDS.sgPort, DESIRED_KINDS.sgGroup, DESIRED_KINDS.sgMembers],
        (scope) => filtering.entries(scope),
        logger,
        // every pass makes every entry, from the service's copy of the facts; what a pass is
        // scheduled with names the rows of that copy to read again (`filteringChangesOf`)
        { partitionOf: () => undefined },
      ),
    );
    const projection = project(() => new SecgroupsProjection(naming), {
      // without the batch's events (another replica folded part of it), anything may have changed
      onAdvance: (_sequence, folded) =>
        folded === undefined
          ? publisher.schedule()
          : publisher.scheduleUnless((published) => filteringUnchangedBy(naming, folded, published), filteringChangesOf(folded)),
    });
    const groups = new SecurityGroupCommands(store, prisma, () => projection.catchUp());
    // Limits from the service's copy of IPAM's quota events, caught up first: a limit just set holds at once.
    const limitOf = projectedLimitOf(prisma.quotaLimit, quotaDefaults(config));
    const quota = new QuotaUsage(store, 'sg', {
      limitOf: async (projectId, kind) => {
        await projection.catchUp();
        return limitOf(projectId, kind);
      },
      items: prisma.quotaUsageItem,
      reservationSeconds: config.QUOTA_RESERVATION_SECONDS,
      onError: (err, msg) => logger.warn({ err }, msg),
    });
    const usageReaction = react(quota.reaction('sg_quota_usage', naming.eventsOfContext('sg'), sgUsageChanges));
    every({ name: 'quota reservation sweep', seconds: Math.max(1, Math.floor(config.QUOTA_RESERVATION_SECONDS / 2)), run: () => quota.sweep(new Date()) });
    commands({ [SG_PORT_GROUPS]: (input, meta) => groups.portGroups(SgPortGroupsInputSchema.parse(input), meta) });
    return { projection, commands: groups, publisher, quota, usageReaction };
  },
  http: {
    extensions: SECGROUPS_EXTENSIONS,
    controllers: [SecurityGroupsController, SecurityGroupRulesController],
    provide: (s) => [
      [SecurityGroupCommands, s.commands],
      [QuotaUsage, s.quota],
    ],
    pathIds: pathIdsOf([securityGroups, securityGroupRules]),
    openapi: {
      title: 'ncp security groups',
      description:
        "Neutron's security groups and their rules (security-group, stateful-security-group). A project's `default` group is created on its first use. Rules are checked and canonicalised as Neutron does; each host's agent enforces them on the ports it plugs (nftables), with anti-spoofing and first-hop security.",
      requests: {
        'security-groups': ['security_group', REQUEST_SCHEMAS.securityGroup],
        'security-group-rules': ['security_group_rule', REQUEST_SCHEMAS.securityGroupRule],
      },
    },
  },
});
export type SecgroupsContext = ServiceOf<typeof SecgroupsContext>;
