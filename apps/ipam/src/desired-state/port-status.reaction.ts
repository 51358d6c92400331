import { agentStatusReport, type RecordedEvent } from '@ncp/contracts';
import { type Reaction } from '@ncp/eventstore';
import { type IpamWriteModel } from '../application/write-model';

/**
 * Folds agents' port reports into the ports' status (PortStatusChanged on the network): the
 * host's L2 report, and the DHCP server's confirmation that lifts the DHCP provisioning block.
 */
export class PortStatusFromAgentReports implements Reaction {
  readonly name = 'ipam_port_status';

  constructor(
    readonly filter: string,
    private readonly model: IpamWriteModel,
  ) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const report = agentStatusReport(recorded);
    if (!report) return;
    const { host, meta } = report;
    for (const r of report.resources) {
      if ((r.kind !== 'port' && r.kind !== 'dhcp_port') || r.networkId === null) continue;
      const networkId = r.networkId;
      if (!(await this.model.networks.load(networkId)).state.exists) continue;
      if (r.kind === 'dhcp_port') {
        if (r.status === 'ACTIVE') await this.model.networks.execute(networkId, { type: 'ConfirmPortDhcp', id: networkId, portId: r.id, host }, meta);
        continue;
      }
      await this.model.networks.execute(
        networkId,
        { type: 'SetPortStatus', id: networkId, portId: r.id, host, status: r.status, reason: r.reason },
        meta,
      );
    }
  }
}
