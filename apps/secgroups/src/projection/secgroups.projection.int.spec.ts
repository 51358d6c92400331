import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactStream, projectionDatabase, projectionSuite } from '@ncp/testing';
import { Naming, type SecurityGroupRule } from '@ncp/contracts';
import { openRule } from '../domain/rule';
import { SECGROUPS_SCHEMA, createPrisma } from '../infrastructure/prisma';
import { SecgroupsProjection } from './secgroups.projection';

/**
 * The security groups projection over real group events: the groups and their rules, each
 * change to a group's rules a new revision of it, a deleted group gone with its rules. The
 * project claim events are not its own and change nothing.
 */

const rule = (id: string, spec: Omit<SecurityGroupRule, 'id'>): SecurityGroupRule => ({ id, ...spec });
const ssh = rule('r-ssh', { ...openRule('ingress', 'IPv4', null), protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '192.0.2.0/24' });
const group = (name: string, isDefault: boolean, rules: SecurityGroupRule[]) => ({ projectId: 'p', name, description: '', stateful: true, isDefault, rules });
const events = new FactStream()
  .add('project', 'p', 'DefaultSecurityGroupClaimed', { groupId: 'g-default' })
  .add(
    'group',
    'g-default',
    'SecurityGroupCreated',
    group('default', true, [rule('r1', openRule('ingress', 'IPv4', 'g-default')), rule('r2', openRule('egress', 'IPv4', null))]),
  )
  .add(
    'group',
    'g-web',
    'SecurityGroupCreated',
    group('web', false, [rule('r3', openRule('egress', 'IPv4', null)), rule('r4', openRule('egress', 'IPv6', null))]),
  )
  .add('group', 'g-web', 'SecurityGroupUpdated', { changes: { name: 'www', stateful: false } })
  .add('group', 'g-web', 'SecurityGroupRulesAdded', { rules: [ssh, rule('r-peer', openRule('ingress', 'IPv6', 'g-default'))] })
  .add('group', 'g-web', 'SecurityGroupRuleRemoved', { ruleId: 'r4' })
  .add('group', 'g-old', 'SecurityGroupCreated', group('old', false, [rule('r5', openRule('egress', 'IPv4', null))]))
  .add('group', 'g-old', 'SecurityGroupDeleted', {}).events;

const db = projectionSuite({ it, beforeAll, afterAll, expect }, () =>
  projectionDatabase('secgroups', createPrisma, new SecgroupsProjection(new Naming({ prefix: 'ev' })), SECGROUPS_SCHEMA),
);

describe('security groups projection', () => {
  it('keeps the groups with their rules, a revision per change of a group or its rules', async () => {
    const client = await db.after(events);
    const groups = await client.securityGroup.findMany({ orderBy: { id: 'asc' } });
    expect(groups.map((g) => [g.id, g.name, g.stateful, g.isDefault, g.revisionNumber])).toEqual([
      ['g-default', 'default', true, true, 1],
      ['g-web', 'www', false, false, 4],
    ]);
    const rules = await client.securityGroupRule.findMany({ orderBy: { id: 'asc' } });
    expect(
      rules.map((r) => [r.id, r.securityGroupId, r.projectId, r.direction, r.ethertype, r.protocol, r.portRangeMin, r.remoteIpPrefix, r.remoteGroupId]),
    ).toEqual([
      ['r-peer', 'g-web', 'p', 'ingress', 'IPv6', null, null, null, 'g-default'],
      ['r-ssh', 'g-web', 'p', 'ingress', 'IPv4', 'tcp', 22, '192.0.2.0/24', null],
      ['r1', 'g-default', 'p', 'ingress', 'IPv4', null, null, null, 'g-default'],
      ['r2', 'g-default', 'p', 'egress', 'IPv4', null, null, null, null],
      ['r3', 'g-web', 'p', 'egress', 'IPv4', null, null, null, null],
    ]);
  });

  db.itReplays(events, { isForeign: () => false, mirrorTables: [], ownTables: ['security_groups', 'security_group_rules'], reversed: 'all' });
});
