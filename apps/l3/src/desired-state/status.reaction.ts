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
        if (!router.exists) continue;
        // The router decides whether the reporting host is (still) its own.
        await this.model.routers.execute(r.id, { type: 'SetStatus', id: r.id, status: r.status, reason: r.reason, host }, meta);
      } else if (r.kind === 'floatingip') {
        const fip = (await this.model.floatingIps.load(r.id)).state;
        if (!fip.exists || fip.routerId === null) continue;
        // The router is another aggregate: a report that races a move of the floating IP or
        // of its router is superseded by the next report of the right host (level-triggered).
        const router = (await this.model.routers.load(fip.routerId)).state;
        if (router.host !== host) continue;
        await this.model.floatingIps.execute(r.id, { type: 'SetStatus', id: r.id, status: r.status, reason: r.reason }, meta);
      }
    }
  }
}
