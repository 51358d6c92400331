import { z } from 'zod';
import { defineEvent, type EventsOf } from '../event-registry';

/**
 * Security group events. One aggregate per group, its rules inside it (so "no rule twice in a
 * group" is decided on one state): `ev.sg.group.<group id>`. Which group is a project's
 * `default` one is decided on its own small aggregate, `ev.sg.project.<project id>`, so two
 * concurrent first uses of a project claim one group.
 */
export const SG_CONTEXT = 'sg';
export const SG_AGGREGATES = { group: 'group', project: 'project' } as const;

const text = z.string();

/** A rule as stored: Neutron's canonical values (see the secgroups service's rule checks). */
export const securityGroupRule = z.object({
  id: text,
  direction: z.enum(['ingress', 'egress']),
  ethertype: z.enum(['IPv4', 'IPv6']),
  /** a protocol name (lower case) or a number as text; null for any */
  protocol: text.nullable(),
  portRangeMin: z.number().int().nullable(),
  portRangeMax: z.number().int().nullable(),
  remoteIpPrefix: text.nullable(),
  remoteGroupId: text.nullable(),
  description: text,
});

const groupAttributes = { name: text, description: text, stateful: z.boolean() };

export const SecurityGroupCreated = defineEvent(
  'SecurityGroupCreated',
  z.object({ projectId: text, ...groupAttributes, isDefault: z.boolean(), rules: z.array(securityGroupRule) }),
);
export const SecurityGroupUpdated = defineEvent('SecurityGroupUpdated', z.object({ changes: z.object(groupAttributes).partial() }));
export const SecurityGroupRulesAdded = defineEvent('SecurityGroupRulesAdded', z.object({ rules: z.array(securityGroupRule).min(1) }));
export const SecurityGroupRuleRemoved = defineEvent('SecurityGroupRuleRemoved', z.object({ ruleId: text }));
export const SecurityGroupDeleted = defineEvent('SecurityGroupDeleted', z.object({}));

export const sgEventDefinitions = [
  SecurityGroupCreated,
  SecurityGroupUpdated,
  SecurityGroupRulesAdded,
  SecurityGroupRuleRemoved,
  SecurityGroupDeleted,
] as const;

export type SgEvent = EventsOf<typeof sgEventDefinitions>;
export type SecurityGroupRule = z.infer<typeof securityGroupRule>;

/**
 * The project's `default` group is (from now on) this group id. Claimed before the group is
 * created with that id; claimed again, with a fresh id, only once the claimed group was deleted.
 */
export const DefaultSecurityGroupClaimed = defineEvent('DefaultSecurityGroupClaimed', z.object({ groupId: text }));

/** The events of a project's aggregate (`ev.sg.project.<project id>`). */
export const sgProjectEventDefinitions = [DefaultSecurityGroupClaimed] as const;
export type SgProjectEvent = EventsOf<typeof sgProjectEventDefinitions>;
