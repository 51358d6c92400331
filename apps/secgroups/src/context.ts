import { sgEventDefinitions, sgProjectEventDefinitions } from '@ncp/contracts';
import { pathIdsOf } from '@ncp/nest-common';
import { defineService, type ServiceOf } from '@ncp/service-kit';
import { REQUEST_SCHEMAS } from './api/bodies';
import { SECGROUPS_EXTENSIONS } from './api/extensions';
import { securityGroupRules, securityGroups } from './api/resources';
import { SecurityGroupRulesController, SecurityGroupsController } from './api/secgroups.controllers';
import { SecurityGroupCommands } from './application/groups';
import { secgroupsConfig } from './config';
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
  events: [...sgEventDefinitions, ...sgProjectEventDefinitions],
  histories: [groupDecider, projectDecider],
  parts: ({ naming, prisma, store, project }) => {
    const projection = project(() => new SecgroupsProjection(naming));
    return { projection, commands: new SecurityGroupCommands(store, prisma) };
  },
  http: {
    extensions: SECGROUPS_EXTENSIONS,
    controllers: [SecurityGroupsController, SecurityGroupRulesController],
    provide: (s) => [[SecurityGroupCommands, s.commands]],
    pathIds: pathIdsOf([securityGroups, securityGroupRules]),
    openapi: {
      title: 'ncp security groups',
      description:
        "Neutron's security groups and their rules (security-group, stateful-security-group). A project's `default` group is created on its first use. Rules are checked and canonicalised as Neutron does; they are not yet enforced on ports.",
      requests: {
        'security-groups': ['security_group', REQUEST_SCHEMAS.securityGroup],
        'security-group-rules': ['security_group_rule', REQUEST_SCHEMAS.securityGroupRule],
      },
    },
  },
});
export type SecgroupsContext = ServiceOf<typeof SecgroupsContext>;
