import {
  DESIRED_KINDS,
  SG_PORT_GROUPS,
  agentEventDefinitions,
  ipamEventDefinitions,
  sgEventDefinitions,
  sgProjectEventDefinitions,
  SgPortGroupsInputSchema,
} from '@ncp/contracts';
import { DesiredStatePublisher } from '@ncp/eventstore';
import { pathIdsOf } from '@ncp/nest-common';
import { defineService, type ServiceOf } from '@ncp/service-kit';
import { REQUEST_SCHEMAS } from './api/bodies';
import { SECGROUPS_EXTENSIONS } from './api/extensions';
import { securityGroupRules, securityGroups } from './api/resources';
import { SecurityGroupRulesController, SecurityGroupsController } from './api/secgroups.controllers';
import { SecurityGroupCommands } from './application/groups';
import { secgroupsConfig } from './config';
import { securityGroupEntries } from './desired-state/intents';
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
  events: [...sgEventDefinitions, ...sgProjectEventDefinitions, ...ipamEventDefinitions, ...agentEventDefinitions],
  histories: [groupDecider, projectDecider],
  parts: ({ logger, naming, nc, prisma, store, project, publish, commands }) => {
    const publisher = publish(
      new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.sgPort, DESIRED_KINDS.sgGroup, DESIRED_KINDS.sgMembers], () => securityGroupEntries(prisma), logger),
    );
    const projection = project(() => new SecgroupsProjection(naming), { onAdvance: () => publisher.schedule() });
    const groups = new SecurityGroupCommands(store, prisma, () => projection.catchUp());
    commands({ [SG_PORT_GROUPS]: (input, meta) => groups.portGroups(SgPortGroupsInputSchema.parse(input), meta) });
    return { projection, commands: groups, publisher };
  },
  http: {
    extensions: SECGROUPS_EXTENSIONS,
    controllers: [SecurityGroupsController, SecurityGroupRulesController],
    provide: (s) => [[SecurityGroupCommands, s.commands]],
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
