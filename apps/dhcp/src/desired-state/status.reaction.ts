import { agentStatusReport, type RecordedEvent } from '@ncp/contracts';
import { type Reaction } from '@ncp/eventstore';
import { type DhcpServers } from '../application/servers';

/** Folds agents' DHCP server reports into the servers' status. */
export class DhcpStatusFromAgentReports implements Reaction {
  readonly name = 'dhcp_status';

  constructor(
    readonly filter: string,
    private readonly servers: DhcpServers,
  ) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const report = agentStatusReport(recorded);
    if (!report) return;
    const { host, meta } = report;
    for (const r of report.resources) {
      if (r.kind !== 'dhcp') continue;
      const server = (await this.servers.repo.load(r.id)).state;
      // Only the host the server runs on speaks for it (a late report of the old host is stale).
      if (server.host !== host) continue;
      await this.servers.repo.execute(r.id, { type: 'SetStatus', status: r.status, reason: r.reason }, meta);
    }
  }
}
