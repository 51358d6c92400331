import { type AgentEvent, type RecordedEvent } from '@ncp/contracts';
import { type Reaction } from '@ncp/eventstore';
import { type IpamWriteModel } from '../application/write-model';

/** Folds agents' port reports into the ports' status (PortStatusChanged on the network). */
export class PortStatusFromAgentReports implements Reaction {
  readonly name = 'ipam_port_status';

  constructor(
    readonly filter: string,
    private readonly model: IpamWriteModel,
  ) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const event = { type: e.type, data: e.data } as AgentEvent;
    if (event.type !== 'ResourceStatusReported') return;
    const { host } = event.data;
    const meta = { now: e.occurredAt, correlationId: e.correlationId, causationId: e.id, projectId: '', actor: `agent:${host}`, isAdmin: true };
    for (const r of event.data.resources) {
      if (r.kind !== 'port' || r.networkId === null) continue;
      const networkId = r.networkId;
      if (!(await this.model.networks.load(networkId)).state.exists) continue;
      await this.model.networks.execute(
        networkId,
        { type: 'SetPortStatus', id: networkId, portId: r.id, host, status: r.status, reason: r.reason },
        meta,
      );
    }
  }
}
