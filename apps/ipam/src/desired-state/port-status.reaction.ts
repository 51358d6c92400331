import { type CommandMetadata, type ResourceReport } from '@ncp/contracts';
import { type IpamWriteModel } from '../application/write-model';

/**
 * Folds agents' port reports into the ports' status (PortStatusChanged on the network): the
 * host's L2 report, and the DHCP server's confirmation that lifts the DHCP provisioning block
 * (the reaction `ipam_port_status`).
 */
export const portStatusFromAgentReports =
  (model: IpamWriteModel) =>
  async (r: ResourceReport, host: string, meta: CommandMetadata): Promise<void> => {
    if ((r.kind !== 'port' && r.kind !== 'dhcp_port') || r.networkId === null) return;
    const networkId = r.networkId;
    if (!(await model.networks.load(networkId)).state.exists) return;
    if (r.kind === 'dhcp_port') {
      if (r.status === 'ACTIVE') await model.networks.execute(networkId, { type: 'ConfirmPortDhcp', id: networkId, portId: r.id, host }, meta);
      return;
    }
    await model.networks.execute(networkId, { type: 'SetPortStatus', id: networkId, portId: r.id, host, status: r.status, reason: r.reason }, meta);
  };
