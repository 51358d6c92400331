import { type L3Event, type RecordedEvent } from '@ncp/contracts';
import { type UsageChange } from '@ncp/eventstore';

/** What L3's events create and delete, as its quotas count them: routers and floating IPs. */
export function l3UsageChanges(recorded: RecordedEvent): UsageChange | null {
  const e = recorded.envelope;
  const event = { type: e.type, data: e.data } as L3Event;
  switch (event.type) {
    case 'RouterCreated':
      return { created: [{ kind: 'router', id: e.aggregateId, projectId: event.data.projectId }], deleted: [] };
    case 'FloatingIpCreated':
      return { created: [{ kind: 'floatingip', id: e.aggregateId, projectId: event.data.projectId }], deleted: [] };
    case 'RouterDeleted':
      return { created: [], deleted: [{ kind: 'router', id: e.aggregateId }] };
    case 'FloatingIpDeleted':
      return { created: [], deleted: [{ kind: 'floatingip', id: e.aggregateId }] };
    default:
      return null;
  }
}
