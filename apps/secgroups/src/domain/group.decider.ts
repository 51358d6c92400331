import {
  ConflictError,
  NotFoundError,
  SG_AGGREGATES,
  SG_CONTEXT,
  type CommandMetadata,
  type Decider,
  type SecurityGroupRule,
  type SgEvent,
} from '@ncp/contracts';
import { checkRule, defaultGroupRules, ruleKey, type RuleRequest, type RuleSpec } from './rule';

export interface GroupAttributes {
  name: string;
  description: string;
  /** false: no connection tracking, every direction needs its own rules (Neutron's stateful-security-group) */
  stateful: boolean;
}

export interface GroupState extends GroupAttributes {
  exists: boolean;
  projectId: string;
  /** the project's `default` group */
  isDefault: boolean;
  rules: ReadonlyMap<string, SecurityGroupRule>;
}

export type GroupCommand = { id: string } & (
  | ({
      type: 'CreateGroup';
      projectId: string;
      isDefault: boolean;
      /** fresh ids for the rules a group starts with (four for a default group, two otherwise) */
      ruleIds: readonly string[];
    } & GroupAttributes)
  | { type: 'UpdateGroup'; changes: Partial<GroupAttributes> }
  /** rules as the client asked for them: checked here, on the group's current rules */
  | { type: 'AddRules'; rules: readonly ({ id: string } & RuleRequest)[] }
  | { type: 'RemoveRule'; ruleId: string }
  | { type: 'DeleteGroup'; byAdmin: boolean }
);

const DEFAULT_NAME = 'default';

function evolve(state: GroupState, event: SgEvent): GroupState {
  switch (event.type) {
    case 'SecurityGroupCreated': {
      const { rules, ...attributes } = event.data;
      return { exists: true, ...attributes, rules: new Map(rules.map((r) => [r.id, r])) };
    }
    case 'SecurityGroupUpdated':
      return { ...state, ...event.data.changes };
    case 'SecurityGroupRulesAdded': {
      const rules = new Map(state.rules);
      for (const r of event.data.rules) rules.set(r.id, r);
      return { ...state, rules };
    }
    case 'SecurityGroupRuleRemoved': {
      const rules = new Map(state.rules);
      rules.delete(event.data.ruleId);
      return { ...state, rules };
    }
    case 'SecurityGroupDeleted':
      return initialState();
  }
}

const defaultExists = () => new ConflictError('SG.SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');

/** A group starts with every egress (and, the default group, ingress from its own members), as Neutron creates it. */
function startingRules(groupId: string, isDefault: boolean, ids: readonly string[]): SecurityGroupRule[] {
  const specs: RuleSpec[] = isDefault ? defaultGroupRules(groupId) : defaultGroupRules(groupId).filter((r) => r.direction === 'egress');
  if (ids.length < specs.length) throw new Error(`CreateGroup needs ${specs.length} rule ids, got ${ids.length}`);
  return specs.map((spec, i) => ({ id: ids[i] ?? '', ...spec }));
}

function addRules(command: Extract<GroupCommand, { type: 'AddRules' }>, state: Readonly<GroupState>): SgEvent {
  const existing = new Map([...state.rules.values()].map((r) => [ruleKey(r), r.id]));
  const added = new Set<string>();
  const rules = command.rules.map(({ id, ...request }) => {
    const rule = { id, ...checkRule(request) };
    const key = ruleKey(rule);
    if (added.has(key)) throw new ConflictError('SG.DuplicateSecurityGroupRuleInPost', 'Duplicate Security Group Rule in POST.');
    const same = existing.get(key);
    if (same !== undefined) throw new ConflictError('SG.SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${same}.`);
    added.add(key);
    return rule;
  });
  return { type: 'SecurityGroupRulesAdded', data: { rules } };
}

function decide(command: GroupCommand, state: Readonly<GroupState>, _meta: CommandMetadata): readonly [] | readonly [SgEvent] {
  if (command.type === 'CreateGroup') {
    if (state.exists) throw new ConflictError('SG.SecurityGroupExists', `Security group ${command.id} already exists.`);
    if (!command.isDefault && command.name === DEFAULT_NAME) throw defaultExists();
    const { projectId, name, description, stateful, isDefault } = command;
    return [
      {
        type: 'SecurityGroupCreated',
        data: { projectId, name, description, stateful, isDefault, rules: startingRules(command.id, isDefault, command.ruleIds) },
      },
    ];
  }
  if (!state.exists) throw new NotFoundError('SG.SecurityGroupNotFound', `Security group ${command.id} does not exist`);
  switch (command.type) {
    case 'UpdateGroup': {
      const changes = Object.fromEntries(
        Object.entries(command.changes).filter(([k, v]) => v !== undefined && state[k as keyof GroupAttributes] !== v),
      ) as Partial<GroupAttributes>;
      if (changes.name !== undefined) {
        if (state.isDefault) throw new ConflictError('SG.SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
        if (changes.name === DEFAULT_NAME) throw defaultExists();
      }
      return Object.keys(changes).length === 0 ? [] : [{ type: 'SecurityGroupUpdated', data: { changes } }];
    }
    case 'AddRules':
      return command.rules.length === 0 ? [] : [addRules(command, state)];
    case 'RemoveRule':
      if (!state.rules.has(command.ruleId)) throw new NotFoundError('SG.SecurityGroupRuleNotFound', `Security group rule ${command.ruleId} does not exist`);
      return [{ type: 'SecurityGroupRuleRemoved', data: { ruleId: command.ruleId } }];
    case 'DeleteGroup':
      if (state.isDefault && !command.byAdmin)
        throw new ConflictError('SG.SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
      return [{ type: 'SecurityGroupDeleted', data: {} }];
  }
}

function initialState(): GroupState {
  return { exists: false, projectId: '', name: '', description: '', stateful: true, isDefault: false, rules: new Map() };
}

export const groupDecider: Decider<GroupState, GroupCommand, SgEvent> = {
  context: SG_CONTEXT,
  aggregate: SG_AGGREGATES.group,
  initialState,
  evolve,
  decide,
};
