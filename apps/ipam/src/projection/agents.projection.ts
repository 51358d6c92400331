import { type AgentEvent, type RecordedEvent } from '@ncp/contracts';
import { type Projection } from '@ncp/eventstore';
import { type IpamTx } from '../infrastructure/prisma';

/** Folds the agents' own events (ev.agent.>) into the agents table `/v2.0/agents` reads. */
export class AgentsProjection implements Projection<IpamTx> {
  readonly name = 'ipam-agents';

  constructor(readonly filter: string) {}

  async reset(tx: IpamTx): Promise<void> {
    await tx.$executeRaw`TRUNCATE agents`;
  }

  async apply(tx: IpamTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const event = { type: e.type, data: e.data } as AgentEvent;
    const at = new Date(e.occurredAt);
    switch (event.type) {
      case 'AgentRegistered': {
        const d = event.data;
        const data = {
          row: d.row,
          host: d.host,
          roles: d.roles,
          tunnelIp: d.tunnelIp,
          physnets: d.physnets,
          version: d.version,
          startedAt: new Date(d.startedAt),
          updatedAt: at,
        };
        // A host that comes back under a new identity (another row) replaces its old record.
        await tx.agent.deleteMany({ where: { host: d.host, NOT: { id: e.aggregateId } } });
        await tx.agent.upsert({ where: { id: e.aggregateId }, create: { id: e.aggregateId, ...data, createdAt: at }, update: data });
        return;
      }
      case 'ResourceStatusReported':
        // Folded into the resources' own status by the services that own them.
        return;
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }
}
