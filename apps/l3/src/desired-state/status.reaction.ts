import { type CommandMetadata, type ResourceReport } from '@ncp/contracts';
import { type L3WriteModel } from '../application/write-model';

/** Folds agents' router and floating IP reports into their status (the reaction `l3_status`). */
export const l3StatusFromAgentReports =
  (model: L3WriteModel) =>
  async (r: ResourceReport, host: string, meta: CommandMetadata): Promise<void> => {
    if (r.kind === 'router') {
      const router = (await model.routers.load(r.id)).state;
      if (!router.exists) return;
      // The router decides whether the reporting host is (still) its own.
      await model.routers.execute(r.id, { type: 'SetStatus', id: r.id, status: r.status, reason: r.reason, host }, meta);
      if (r.haState !== undefined) await model.routers.execute(r.id, { type: 'SetHaState', id: r.id, host, haState: r.haState }, meta);
    } else if (r.kind === 'floatingip') {
      const fip = (await model.floatingIps.load(r.id)).state;
      if (!fip.exists || fip.routerId === null) return;
      // The router is another aggregate: a report that races a move of the floating IP or
      // of its router is superseded by the next report of the right host (level-triggered).
      const router = (await model.routers.load(fip.routerId)).state;
      if (router.host !== host && !(router.haPlacement?.hosts.some((h) => h.host === host) ?? false)) return;
      await model.floatingIps.execute(r.id, { type: 'SetStatus', id: r.id, status: r.status, reason: r.reason }, meta);
    }
  };
