import { type L2HostIntent } from '@ncp/contracts';
import { type CommandRunner } from '../runner.js';
import { itemFailures, observeOrFailAll } from '../steps.js';
import { applyL2 } from './apply.js';
import { type L2HostConfig } from './model.js';
import { observeL2, type KnownL2 } from './observe.js';
import { type ObservedFdbEntry, type ObservedL2, type ObservedLink } from './observed.js';
import { networkItem, planL2, portItem, type L2Item } from './plan.js';

/** The outcome of one item: what the agent turns into a status report. */
export type L2ItemResult = { readonly item: L2Item; readonly ok: true } | { readonly item: L2Item; readonly ok: false; readonly error: string };

/**
 * Observe -> plan -> apply, once and without memory: reads the whole host, so a restarted agent
 * converges and a converged host gets no mutating command. See `L2Reconciler` for the result.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid host config. A failure to
 *   read the kernel is not thrown: every item is reported with it, to be retried.
 */
export async function reconcileL2(intent: L2HostIntent, config: L2HostConfig, runner: CommandRunner): Promise<L2ItemResult[]> {
  return new L2Reconciler(config, runner).reconcile(intent, { resync: true });
}

/** What a pass applied for one port: its intent as compared, and where its workload end is. */
interface AppliedPort {
  readonly intent: string;
  readonly netns: string;
}

/**
 * The L2 driver with Felix's memory: a pass reads back the host namespace (one `ip` and, when a
 * network may have changed, one `bridge` process) but only the workload namespaces it has a
 * reason to: a port in it is new, changed or failed, the last pass changed it, or it was never
 * read. The others' links are the last read-back of them. A `resync` pass reads everything, as
 * does the pass after a failed read-back: what someone else changed in a workload namespace is
 * found there (the agent runs one every `--resync-seconds`).
 *
 * Returns one result per network of the intent (`network:<id>`), then per port (`port:<id>`),
 * in intent order, then `sweep` (removal of our links that are no longer wanted). An item that
 * needed no change is ok.
 */
export class L2Reconciler {
  /** each workload namespace's links as last read, while nothing we did has changed them since */
  private readonly workloads = new Map<string, readonly ObservedLink[]>();
  /** the fdb as last read, while no network has changed since */
  private fdb: Readonly<Record<string, readonly ObservedFdbEntry[]>> | undefined;
  private ports = new Map<string, AppliedPort>();
  private networks = new Map<string, string>();

  constructor(
    private readonly config: L2HostConfig,
    private readonly runner: CommandRunner,
  ) {}

  /** @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid host config */
  async reconcile(intent: L2HostIntent, { resync }: { readonly resync: boolean }): Promise<L2ItemResult[]> {
    const items: L2Item[] = [...intent.networks.map((n) => networkItem(n.id)), ...intent.ports.map((p) => portItem(p.id)), 'sweep'];
    const ports = new Map(intent.ports.map((p) => [p.id, { intent: JSON.stringify(p), netns: p.workload.netns }]));
    const networks = new Map(intent.networks.map((n) => [n.id, JSON.stringify(n)]));
    if (resync) this.forget();
    // a port that is new or changed is read where it is now (someone else may have made its interface there)
    for (const [id, port] of ports) if (this.ports.get(id)?.intent !== port.intent) this.workloads.delete(port.netns);
    if ([...networks].some(([id, n]) => this.networks.get(id) !== n) || [...this.networks.keys()].some((id) => !networks.has(id))) this.fdb = undefined;

    const known: KnownL2 = { workloadLinks: this.workloads, ...(this.fdb === undefined ? {} : { fdb: this.fdb }) };
    try {
      const read = await observeOrFailAll(items, 'the host state', () => observeL2(intent, this.config, this.runner, known));
      if ('failed' in read) {
        this.forget();
        return read.failed;
      }
      const plan = planL2(intent, this.config, read.observed);
      const failures = itemFailures(plan, await applyL2(plan.steps, this.runner, this.config.netns));
      this.remember(read.observed, ports, networks, new Set([...plan.steps.map((s) => s.item), ...failures.keys()]));
      return items.map((item) => {
        const error = failures.get(item);
        return error === undefined ? { item, ok: true } : { item, ok: false, error };
      });
    } catch (err) {
      // what a throwing pass did is not known: the next one reads everything
      this.forget();
      throw err;
    }
  }

  private forget(): void {
    this.workloads.clear();
    this.fdb = undefined;
  }

  /**
   * Keeps the read-backs this pass did not change. `touched`: the items that had a step or
   * failed (a refused port too: what was in its way may be gone by the next pass), whose
   * namespaces may now differ from what was read.
   *
   * A kept namespace can still list a link that this pass removed without a port of it being
   * touched: the workload end of a swept port, or of a port that moved away. No port that stays
   * unchanged looks at that link (a namespace holds one link of a name, and each port looks only
   * at its own and at `lo`), and a port that is new or changed has its namespace read afresh.
   */
  private remember(observed: ObservedL2, ports: Map<string, AppliedPort>, networks: Map<string, string>, touched: ReadonlySet<L2Item>): void {
    for (const [ns, links] of Object.entries(observed.workloadLinks)) this.workloads.set(ns, links);
    // a namespace that is gone has nothing to remember; if it comes back, it is read then
    for (const ns of this.workloads.keys()) if (!observed.netns.includes(ns)) this.workloads.delete(ns);
    for (const [id, port] of ports) if (touched.has(portItem(id))) this.workloads.delete(port.netns);
    this.fdb = [...networks.keys()].some((id) => touched.has(networkItem(id))) ? undefined : observed.fdb;
    this.ports = ports;
    this.networks = networks;
  }
}
