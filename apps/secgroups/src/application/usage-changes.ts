import { type RecordedEvent, type SgEvent } from '@ncp/contracts';
import { type UsageChange } from '@ncp/eventstore';

/**
 * What the groups' events create and delete, as quotas count them: groups and their rules (a
 * rule is its group's project's; a default group's rules count too, as in Neutron).
 */
export function sgUsageChanges(recorded: RecordedEvent): UsageChange | null {
  const e = recorded.envelope;
  if (e.aggregate !== 'group') return null;
  const group = e.aggregateId;
  const event = { type: e.type, data: e.data } as SgEvent;
  const rules = (ids: readonly { id: string }[]) => ids.map((r) => ({ kind: 'security_group_rule' as const, id: r.id, parentId: group }));
  switch (event.type) {
    case 'SecurityGroupCreated':
      return {
        created: [
          { kind: 'security_group', id: group, projectId: event.data.projectId },
          ...rules(event.data.rules).map((r) => ({ ...r, projectId: event.data.projectId })),
        ],
        deleted: [],
      };
    case 'SecurityGroupRulesAdded':
      return { created: rules(event.data.rules), deleted: [] };
    case 'SecurityGroupRuleRemoved':
      return { created: [], deleted: [{ kind: 'security_group_rule', id: event.data.ruleId }] };
    case 'SecurityGroupDeleted':
      return { created: [], deleted: [{ kind: 'security_group', id: group }] };
    default:
      return null;
  }
}
