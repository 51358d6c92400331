import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { type SecurityGroupRule, type SgEvent } from '@ncp/contracts';
import { groupDecider, type GroupCommand } from './group.decider';
import { openRule } from './rule';

const G = '5e000000-0000-4000-8000-000000000001';
const spec = deciderSpec(groupDecider);
const egress = (id: string, ethertype: 'IPv4' | 'IPv6'): SecurityGroupRule => ({ id, ...openRule('egress', ethertype, null) });
const fromMembers = (id: string, ethertype: 'IPv4' | 'IPv6'): SecurityGroupRule => ({ id, ...openRule('ingress', ethertype, G) });

const create = (over: Partial<Extract<GroupCommand, { type: 'CreateGroup' }>> = {}): GroupCommand => ({
  type: 'CreateGroup',
  id: G,
  projectId: 'p1',
  name: 'web',
  description: '',
  stateful: true,
  isDefault: false,
  ruleIds: ['r1', 'r2', 'r3', 'r4'],
  ...over,
});
const created: SgEvent = {
  type: 'SecurityGroupCreated',
  data: { projectId: 'p1', name: 'web', description: '', stateful: true, isDefault: false, rules: [egress('r1', 'IPv4'), egress('r2', 'IPv6')] },
};
const defaultCreated: SgEvent = {
  type: 'SecurityGroupCreated',
  data: {
    projectId: 'p1',
    name: 'default',
    description: 'Default security group',
    stateful: true,
    isDefault: true,
    rules: [fromMembers('r1', 'IPv4'), egress('r2', 'IPv4'), fromMembers('r3', 'IPv6'), egress('r4', 'IPv6')],
  },
};
const ssh = { direction: 'ingress', protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '192.0.2.0/24' };
const sshRule: SecurityGroupRule = {
  id: 'r9',
  direction: 'ingress',
  ethertype: 'IPv4',
  protocol: 'tcp',
  portRangeMin: 22,
  portRangeMax: 22,
  remoteIpPrefix: '192.0.2.0/24',
  remoteGroupId: null,
  description: '',
};

describe('security group decider', () => {
  it('creates a group with egress open over IPv4 and IPv6, as Neutron does', () => {
    spec.given([]).when(create()).then([created]);
  });

  it("creates a project's default group with ingress from its own members too", () => {
    spec
      .given([])
      .when(create({ name: 'default', description: 'Default security group', isDefault: true }))
      .then([defaultCreated]);
  });

  it("refuses a second group named 'default', on create and on rename", () => {
    spec
      .given([])
      .when(create({ name: 'default' }))
      .thenThrows('SG.SecurityGroupDefaultAlreadyExists');
    spec
      .given([created])
      .when({ type: 'UpdateGroup', id: G, changes: { name: 'default' } })
      .thenThrows('SG.SecurityGroupDefaultAlreadyExists');
  });

  it('refuses to create a group twice and to change one that does not exist', () => {
    spec.given([created]).when(create()).thenThrows('SG.SecurityGroupExists');
    spec
      .given([])
      .when({ type: 'UpdateGroup', id: G, changes: { name: 'x' } })
      .thenThrows('SG.SecurityGroupNotFound');
    spec.given([]).when({ type: 'RemoveRule', id: G, ruleId: 'r1' }).thenThrows('SG.SecurityGroupNotFound');
  });

  it('updates only what changes; renaming the default group is refused, its description may change', () => {
    spec
      .given([created])
      .when({ type: 'UpdateGroup', id: G, changes: { name: 'web', description: 'front', stateful: false } })
      .then([{ type: 'SecurityGroupUpdated', data: { changes: { description: 'front', stateful: false } } }]);
    spec
      .given([created])
      .when({ type: 'UpdateGroup', id: G, changes: { name: 'web' } })
      .then([]);
    spec
      .given([defaultCreated])
      .when({ type: 'UpdateGroup', id: G, changes: { name: 'mine' } })
      .thenThrows('SG.SecurityGroupCannotUpdateDefault');
    spec
      .given([defaultCreated])
      .when({ type: 'UpdateGroup', id: G, changes: { description: 'x' } })
      .then([{ type: 'SecurityGroupUpdated', data: { changes: { description: 'x' } } }]);
  });

  it('adds checked rules in their canonical form', () => {
    spec
      .given([created])
      .when({ type: 'AddRules', id: G, rules: [{ id: 'r9', ...ssh, remoteIpPrefix: '192.0.2.7/24' }] })
      .then([{ type: 'SecurityGroupRulesAdded', data: { rules: [sshRule] } }]);
  });

  it('refuses a rule the group has already, by name or number, and a rule twice in one request', () => {
    const withSsh: SgEvent = { type: 'SecurityGroupRulesAdded', data: { rules: [sshRule] } };
    spec
      .given([created, withSsh])
      .when({ type: 'AddRules', id: G, rules: [{ id: 'r10', ...ssh, protocol: '6' }] })
      .thenThrows('SG.SecurityGroupRuleExists', /Rule id is r9/);
    // the starting egress rule, given with an explicit any-address prefix
    spec
      .given([created])
      .when({ type: 'AddRules', id: G, rules: [{ id: 'r10', direction: 'egress', remoteIpPrefix: '0.0.0.0/0' }] })
      .thenThrows('SG.SecurityGroupRuleExists', /Rule id is r1/);
    spec
      .given([created])
      .when({
        type: 'AddRules',
        id: G,
        rules: [
          { id: 'r10', ...ssh },
          { id: 'r11', ...ssh, description: 'again' },
        ],
      })
      .thenThrows('SG.DuplicateSecurityGroupRuleInPost');
  });

  it('refuses an invalid rule with its Neutron error, adding none of the request', () => {
    spec
      .given([created])
      .when({
        type: 'AddRules',
        id: G,
        rules: [
          { id: 'r10', ...ssh },
          { id: 'r11', direction: 'ingress', protocol: 'tcp', portRangeMin: 30, portRangeMax: 20 },
        ],
      })
      .thenThrows('SG.SecurityGroupInvalidPortRange');
  });

  it('removes a rule it has; a rule it does not have is not found', () => {
    spec
      .given([created])
      .when({ type: 'RemoveRule', id: G, ruleId: 'r2' })
      .then([{ type: 'SecurityGroupRuleRemoved', data: { ruleId: 'r2' } }]);
    spec
      .given([created, { type: 'SecurityGroupRuleRemoved', data: { ruleId: 'r2' } }])
      .when({ type: 'RemoveRule', id: G, ruleId: 'r2' })
      .thenThrows('SG.SecurityGroupRuleNotFound');
  });

  it('a removed rule may be added again', () => {
    const removed: SgEvent = { type: 'SecurityGroupRuleRemoved', data: { ruleId: 'r1' } };
    const events = spec
      .given([created, removed])
      .when({ type: 'AddRules', id: G, rules: [{ id: 'r12', direction: 'egress' }] })
      .events();
    expect(events).toEqual([{ type: 'SecurityGroupRulesAdded', data: { rules: [egress('r12', 'IPv4')] } }]);
  });

  it('deletes a group; the default group only by an admin', () => {
    spec
      .given([created])
      .when({ type: 'DeleteGroup', id: G, byAdmin: false })
      .then([{ type: 'SecurityGroupDeleted', data: {} }]);
    spec.given([defaultCreated]).when({ type: 'DeleteGroup', id: G, byAdmin: false }).thenThrows('SG.SecurityGroupCannotRemoveDefault');
    spec
      .given([defaultCreated])
      .when({ type: 'DeleteGroup', id: G, byAdmin: true })
      .then([{ type: 'SecurityGroupDeleted', data: {} }]);
  });

  it('folds its events into the state the next decision reads', () => {
    const state = spec
      .given([created, { type: 'SecurityGroupRulesAdded', data: { rules: [sshRule] } }, { type: 'SecurityGroupRuleRemoved', data: { ruleId: 'r2' } }])
      .state();
    expect([...state.rules.keys()]).toEqual(['r1', 'r9']);
    expect(spec.given([created, { type: 'SecurityGroupDeleted', data: {} }]).state().exists).toBe(false);
  });
});
