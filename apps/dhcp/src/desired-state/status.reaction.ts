import { type CommandMetadata, type ResourceReport } from '@ncp/contracts';
import { type DhcpServers } from '../application/servers';

/** Folds agents' DHCP server reports into the servers' status (the reaction `dhcp_status`). */
export const dhcpStatusFromAgentReports =
  (servers: DhcpServers) =>
  async (r: ResourceReport, host: string, meta: CommandMetadata): Promise<void> => {
    if (r.kind !== 'dhcp') return;
    const server = (await servers.repo.load(r.id)).state;
    // Only the host the server runs on speaks for it (a late report of the old host is stale).
    if (server.host !== host) return;
    await servers.repo.execute(r.id, { type: 'SetStatus', status: r.status, reason: r.reason }, meta);
  };
