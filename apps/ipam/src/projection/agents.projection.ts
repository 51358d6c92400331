import { type AgentEvent, type RecordedEvent } from '@ncp/contracts';
import { byType, unchanged, type Projection } from '@ncp/eventstore';
import { type IpamTx } from '../infrastructure/prisma';

const agents = byType<IpamTx, AgentEvent>({
  AgentRegistered: async (tx, { id, at, data }) => {
    // the registration as it is (its data is valid at its latest version: nothing more)
    const row = { ...data, startedAt: new Date(data.startedAt), updatedAt: at };
    // A host that comes back under a new identity (another row) replaces its old record.
    await tx.agent.deleteMany({ where: { host: data.host, NOT: { id } } });
    await tx.agent.upsert({ where: { id }, create: { id, ...row, createdAt: at }, update: row });
  },
  // Folded into the resources' own status by the services that own them.
  ResourceStatusReported: unchanged,
});

/** Folds the agents' own events (ev.agent.>) into the agents table `/v2.0/agents` reads. */
export class AgentsProjection implements Projection<IpamTx> {
  readonly name = 'ipam-agents';

  constructor(readonly filter: string) {}

  async reset(tx: IpamTx): Promise<void> {
    await tx.$executeRaw`TRUNCATE agents`;
  }

  apply(tx: IpamTx, recorded: RecordedEvent): Promise<void> {
    return agents.apply(tx, recorded);
  }
}
