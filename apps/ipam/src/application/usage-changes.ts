import { type IpamEvent, type RecordedEvent } from '@ncp/contracts';
import { type UsageChange } from '@ncp/eventstore';

const created = (c: UsageChange['created'][number]): UsageChange => ({ created: [c], deleted: [] });
const deleted = (d: UsageChange['deleted']): UsageChange => ({ created: [], deleted: d });

/**
 * What IPAM's events create and delete, as its quotas count them: every network, subnet, port
 * and subnet pool, whether the API made it or not (a router's or a DHCP server's port). A
 * network's subnets and ports are its children: they go with it.
 */
export function ipamUsageChanges(recorded: RecordedEvent): UsageChange | null {
  const e = recorded.envelope;
  const event = { type: e.type, data: e.data } as IpamEvent;
  switch (event.type) {
    case 'NetworkCreated':
      return created({ kind: 'network', id: e.aggregateId, projectId: event.data.projectId });
    case 'SubnetCreated':
      return created({ kind: 'subnet', id: event.data.subnetId, projectId: event.data.projectId, parentId: e.aggregateId });
    case 'PortCreated':
      return created({ kind: 'port', id: event.data.portId, projectId: event.data.projectId, parentId: e.aggregateId });
    case 'SubnetPoolCreated':
      return created({ kind: 'subnetpool', id: e.aggregateId, projectId: event.data.projectId });
    case 'NetworkDeleted':
      return deleted([
        { kind: 'network', id: e.aggregateId },
        ...event.data.subnets.map((s) => ({ kind: 'subnet' as const, id: s.subnetId })),
        ...event.data.portIds.map((id) => ({ kind: 'port' as const, id })),
      ]);
    case 'SubnetDeleted':
      return deleted([{ kind: 'subnet', id: event.data.subnetId }]);
    case 'PortDeleted':
      return deleted([{ kind: 'port', id: event.data.portId }]);
    case 'SubnetPoolDeleted':
      return deleted([{ kind: 'subnetpool', id: e.aggregateId }]);
    default:
      return null;
  }
}
