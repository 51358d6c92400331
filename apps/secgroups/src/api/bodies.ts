import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import {
  defined,
  neutronAddress,
  neutronBoolean,
  neutronId,
  neutronNullableInteger,
  neutronString,
  ownerAttributes,
  parseBody,
  parseUpdateBody,
  projectOf,
} from '@ncp/nest-common';
import { type NewRule } from '../application/groups';
import { type GroupAttributes } from '../domain/group.decider';

/** At most this many rules in one bulk POST: their one event per group stays far below NATS's max_payload. */
export const MAX_BULK_RULES = 500;

const groupBody = z.strictObject({
  ...ownerAttributes(),
  name: neutronString().optional(),
  description: neutronString().optional(),
  stateful: neutronBoolean('stateful').optional(),
});

// Types and lengths only: the values are Neutron's rule checks (domain/rule.ts), on the group's state.
const ruleBody = z.strictObject({
  ...ownerAttributes(),
  security_group_id: neutronId(),
  direction: neutronString(16),
  ethertype: neutronString(16).nullable().optional(),
  protocol: z
    .union([neutronString(32), z.number().int()])
    .nullable()
    .optional(),
  port_range_min: neutronNullableInteger('port_range_min').optional(),
  port_range_max: neutronNullableInteger('port_range_max').optional(),
  remote_ip_prefix: neutronAddress().nullable().optional(),
  remote_group_id: neutronId().nullable().optional(),
  description: neutronString().optional(),
});

export function createGroupInput(body: unknown, meta: CommandMetadata): { projectId: string } & GroupAttributes {
  const b = parseBody(body, 'security_group', groupBody);
  return { projectId: projectOf(b, meta), name: b.name ?? '', description: b.description ?? '', stateful: b.stateful ?? true };
}

export function updateGroupInput(body: unknown): Partial<GroupAttributes> {
  const b = parseUpdateBody(body, 'security_group', groupBody, ['name', 'description', 'stateful']);
  return defined({ name: b.name, description: b.description, stateful: b.stateful });
}

function ruleInput(b: z.infer<typeof ruleBody>, meta: CommandMetadata): NewRule {
  // the rule is its group's project's; naming another project is an admin's right only
  projectOf(b, meta);
  return {
    id: randomUUID(),
    securityGroupId: b.security_group_id,
    direction: b.direction,
    ethertype: b.ethertype ?? null,
    protocol: b.protocol ?? null,
    portRangeMin: b.port_range_min ?? null,
    portRangeMax: b.port_range_max ?? null,
    remoteIpPrefix: b.remote_ip_prefix ?? null,
    remoteGroupId: b.remote_group_id ?? null,
    description: b.description ?? '',
  };
}

/** `{"security_group_rule": {...}}` or a bulk `{"security_group_rules": [...]}`. */
export function createRulesInput(body: unknown, meta: CommandMetadata): { bulk: boolean; rules: NewRule[] } {
  const items = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).security_group_rules : undefined;
  if (items === undefined) return { bulk: false, rules: [ruleInput(parseBody(body, 'security_group_rule', ruleBody), meta)] };
  if (!Array.isArray(items) || items.length === 0) throw new ValidationError('API.HTTPBadRequest', "Resources required with key 'security_group_rules'");
  if (items.length > MAX_BULK_RULES) throw new ValidationError('API.HTTPBadRequest', `At most ${MAX_BULK_RULES} security group rules in one request`);
  return { bulk: true, rules: (items as unknown[]).map((item) => ruleInput(parseBody({ security_group_rule: item }, 'security_group_rule', ruleBody), meta)) };
}

export const REQUEST_SCHEMAS = { securityGroup: groupBody, securityGroupRule: ruleBody } as const;
