import {
  BY_CREATION,
  STANDARD_ATTRIBUTES,
  booleanAttr,
  integerAttr,
  listAttr,
  neutronTimestamp,
  policyWhere,
  standardWire,
  stringAttr,
  timestampAttr,
  type ResourceReader,
} from '@ncp/nest-common';
import { type SecurityGroup, type SecurityGroupRule } from '../generated/prisma/client';
import { type SecgroupsPrisma } from '../infrastructure/prisma';

type GroupRow = SecurityGroup & { rules: SecurityGroupRule[] };

export function ruleWire(r: SecurityGroupRule): Record<string, unknown> {
  return {
    id: r.id,
    security_group_id: r.securityGroupId,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.portRangeMin,
    port_range_max: r.portRangeMax,
    remote_ip_prefix: r.remoteIpPrefix,
    remote_group_id: r.remoteGroupId,
    description: r.description,
    tenant_id: r.projectId,
    project_id: r.projectId,
    revision_number: r.revisionNumber,
    created_at: neutronTimestamp(r.createdAt),
    updated_at: neutronTimestamp(r.updatedAt),
  };
}

const RULE_ORDER = [{ createdAt: 'asc' }, { id: 'asc' }] as const;

/** Security groups, each with its rules embedded as Neutron shows them. Scoped by project. */
export const securityGroups: ResourceReader<GroupRow, SecgroupsPrisma> = {
  path: 'security-groups',
  spec: {
    singular: 'security_group',
    collection: 'security_groups',
    attributes: {
      ...STANDARD_ATTRIBUTES,
      description: stringAttr('description'),
      stateful: booleanAttr('stateful'),
      security_group_rules: listAttr,
    },
  },
  notFound: (id) => ({ type: 'SecurityGroupNotFound', message: `Security group ${id} does not exist` }),
  defaultSort: BY_CREATION,
  visibleTo: (meta) => policyWhere('get_security_group', meta),
  findMany: async (prisma, args) => {
    const groups = await prisma.securityGroup.findMany(args);
    const rules = await prisma.securityGroupRule.findMany({ where: { securityGroupId: { in: groups.map((g) => g.id) } }, orderBy: [...RULE_ORDER] });
    return groups.map((g) => ({ ...g, rules: rules.filter((r) => r.securityGroupId === g.id) }));
  },
  toWire: (g) => ({
    ...standardWire(g),
    description: g.description,
    stateful: g.stateful,
    security_group_rules: g.rules.map(ruleWire),
  }),
};

/** Security group rules; a rule's project is its group's. */
export const securityGroupRules: ResourceReader<SecurityGroupRule, SecgroupsPrisma> = {
  path: 'security-group-rules',
  spec: {
    singular: 'security_group_rule',
    collection: 'security_group_rules',
    attributes: {
      id: stringAttr('id'),
      security_group_id: stringAttr('securityGroupId'),
      direction: stringAttr('direction'),
      ethertype: stringAttr('ethertype'),
      protocol: stringAttr('protocol'),
      port_range_min: integerAttr('portRangeMin'),
      port_range_max: integerAttr('portRangeMax'),
      remote_ip_prefix: stringAttr('remoteIpPrefix'),
      remote_group_id: stringAttr('remoteGroupId'),
      description: stringAttr('description'),
      project_id: stringAttr('projectId'),
      tenant_id: stringAttr('projectId'),
      revision_number: integerAttr('revisionNumber'),
      created_at: timestampAttr('createdAt'),
      updated_at: timestampAttr('updatedAt'),
    },
  },
  notFound: (id) => ({ type: 'SecurityGroupRuleNotFound', message: `Security group rule ${id} does not exist` }),
  defaultSort: BY_CREATION,
  // A rule carries its group's project: the group's owner is the rule's.
  visibleTo: (meta) => policyWhere('get_security_group_rule', meta, { sgOwner: (projectId) => ({ projectId }) }),
  policyTarget: (r) => ({ projectId: r.projectId, securityGroupProjectId: r.projectId }),
  findMany: (prisma, args) => prisma.securityGroupRule.findMany(args),
  toWire: ruleWire,
};
