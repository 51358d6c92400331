import { agentStatusReport, type RecordedEvent } from '@ncp/contracts';
import { type Reaction } from '@ncp/eventstore';
import { type L3WriteModel } from '../application/write-model';

/** Folds agents' router and floating IP reports into their status. */
export class L3StatusFromAgentReports implements Reaction {
  readonly name = 'l3_status';

  constructor(
    readonly filter: string,
    private readonly model: L3WriteModel,
  ) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const report = agentStatusReport(recorded);
    if (!report) return;
    const { host, meta } = report;
    for (const r of report.resources) {
      if (r.kind === 'router') {
        const router = (await this.model.routers.load(r.id)).state;
        // Only the host the router runs on speaks for it.
        if (!router.exists || router.host !== host) continue;
        await this.model.routers.execute(r.id, { type: 'SetStatus', id: r.id, status: r.status, reason: r.reason }, meta);
      } else if (r.kind === 'floatingip') {
        const fip = (await this.model.floatingIps.load(r.id)).state;
        if (!fip.exists || fip.routerId === null) continue;
        const router = (await this.model.routers.load(fip.routerId)).state;
        if (router.host !== host) continue;
        await this.model.floatingIps.execute(r.id, { type: 'SetStatus', id: r.id, status: r.status, reason: r.reason }, meta);
      }
    }
  }
}
