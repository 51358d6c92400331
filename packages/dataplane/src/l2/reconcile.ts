import { isValidId, type L2HostIntent, type L2PortIntent } from '@ncp/contracts';
import { bridgeName, parseOwnerAlias, tapName, vlanName, vxlanName } from '../names.js';
import { type CommandRunner } from '../runner.js';
import { intentJson } from '../intent-groups.js';
import { itemFailures, observeOrFailAll } from '../steps.js';
import { ResyncSlices } from '../resync-slices.js';
import { applyL2 } from './apply.js';
import { type L2HostConfig } from './model.js';
import { observeL2, type KnownL2 } from './observe.js';
import { type ObservedFdbEntry, type ObservedL2, type ObservedLink } from './observed.js';
import { networkItem, planL2, portItem, type L2Item, type SettledPort } from './plan.js';

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

/** What a pass applied for one port: its intent, and as compared. */
interface AppliedPort {
  readonly port: L2PortIntent;
  readonly intent: string;
}

/** The host links a port's plan looks at and its steps can change: its tap, and its bridge (whose MTU and address can follow its ports). */
const portLinks = (p: L2PortIntent): string[] => (isValidId(p.id) ? [tapName(p.id)] : []).concat(isValidId(p.networkId) ? [bridgeName(p.networkId)] : []);

/** A network's: its bridge, VXLAN and VLAN devices, and the physnet interfaces (enslaved, released, or a VLAN's parent). */
const networkLinks = (id: string, physnets: Readonly<Record<string, string>>): string[] =>
  (isValidId(id) ? [bridgeName(id), vxlanName(id), vlanName(id)] : []).concat(Object.values(physnets));

/**
 * The L2 driver with Felix's memory: a pass reads back only what it has a reason to. In the host
 * namespace, the links of the ports and networks that are new or changed, and of the items the
 * last pass changed or failed on (one `ip -batch` of `link show dev`), and the fdb when a network
 * may have changed; the workload namespaces where a port is new, changed or failed, that the last
 * pass changed, or never read. Everything else is the last read-back of it, and a port whose
 * entry and read-back are the objects the last plan found nothing to do with is not planned
 * again (planL2's settled ports). A `resync` pass reads everything, as does the pass after a failed read-back: what someone else changed on the
 * host is found there (the agent runs one every `--resync-seconds`).
 *
 * With `resyncSlice`, a resync reads the host namespace whole but queues the workload
 * namespaces it holds a read-back of: the periodic passes after it read them that many at a
 * time, in the order they were queued, while `resyncing` says some are left (the agent runs
 * such a pass soon); a change pass takes a slice only now and then (see `ResyncSlices`). A
 * resync reads one process per workload namespace; at thousands of ports, all at once, it
 * held a bind that came meanwhile for most of a second, and a slice in every bind's pass
 * held each of them for a third of one.
 *
 * Returns one result per network of the intent (`network:<id>`), then per port (`port:<id>`),
 * in intent order, then `sweep` (removal of our links that are no longer wanted). An item that
 * needed no change is ok.
 */
export class L2Reconciler {
  /** each workload namespace's links as last read, while nothing we did has changed them since */
  private readonly workloads = new Map<string, readonly ObservedLink[]>();
  /** the host namespace's links as last read (none: read them all), and the names to read again */
  private host: Map<string, ObservedLink> | undefined;
  private stale = new Set<string>();
  /** the fdb as last read, while no network has changed since */
  private fdb: Readonly<Record<string, readonly ObservedFdbEntry[]>> | undefined;
  private ports = new Map<string, AppliedPort>();
  private networks = new Map<string, string>();
  /** the ports the last plan found nothing to do for, and what it looked at (see planL2) */
  private settled: ReadonlyMap<string, SettledPort> = new Map();
  /** workload namespaces a resync has yet to read again */
  private readonly rereading: ResyncSlices;
  /**
   * The namespaces the last pass changed (had steps in or failed on): the workload namespaces of
   * its ports, and the host namespace (the root one as '') when a network or the sweep was
   * touched. Undefined after a pass that failed to read or threw. The drivers that build on
   * ports in router and DHCP namespaces need to run again only when one of theirs is in it.
   */
  changedNamespaces: ReadonlySet<string> | undefined;

  constructor(
    private readonly config: L2HostConfig,
    private readonly runner: CommandRunner,
    private readonly opts: { readonly resyncSlice?: number } = {},
  ) {
    this.rereading = new ResyncSlices(opts.resyncSlice ?? 0);
  }

  /** Whether a resync has workload namespaces left to read again: the next passes read them. */
  get resyncing(): boolean {
    return this.rereading.left;
  }

  /** @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for an invalid host config */
  async reconcile(intent: L2HostIntent, { resync, periodic = false }: { readonly resync: boolean; readonly periodic?: boolean }): Promise<L2ItemResult[]> {
    const items: L2Item[] = [...intent.networks.map((n) => networkItem(n.id)), ...intent.ports.map((p) => portItem(p.id)), 'sweep'];
    const ports = new Map(intent.ports.map((p) => [p.id, { port: p, intent: intentJson(p) }]));
    const networks = new Map(intent.networks.map((n) => [n.id, intentJson(n)]));
    if (resync) this.resync();
    else for (const ns of this.rereading.take(periodic)) this.workloads.delete(ns);
    // a port that is new or changed is read where it is now (someone else may have made its interface there)
    for (const [id, { port, intent }] of ports) {
      const before = this.ports.get(id);
      if (before?.intent === intent) continue;
      this.workloads.delete(port.workload.netns);
      this.rereading.delete(port.workload.netns);
      for (const name of [...portLinks(port), ...(before ? portLinks(before.port) : [])]) this.stale.add(name);
    }
    const changedNetworks = [...networks].filter(([id, n]) => this.networks.get(id) !== n).map(([id]) => id);
    for (const id of changedNetworks) for (const name of networkLinks(id, this.config.physnets)) this.stale.add(name);
    if (changedNetworks.length > 0 || [...this.networks.keys()].some((id) => !networks.has(id))) this.fdb = undefined;

    this.changedNamespaces = undefined;
    const known: KnownL2 = {
      workloadLinks: this.workloads,
      ...(this.fdb === undefined ? {} : { fdb: this.fdb }),
      ...(this.host === undefined ? {} : { hostLinks: { links: this.host, stale: this.stale } }),
    };
    try {
      const read = await observeOrFailAll(items, 'the host state', () => observeL2(intent, this.config, this.runner, known));
      if ('failed' in read) {
        this.forget();
        return read.failed;
      }
      const plan = planL2(intent, this.config, read.observed, this.settled);
      const failures = itemFailures(plan, await applyL2(plan.steps, this.runner, this.config.netns));
      this.remember(read.observed, ports, networks, new Set([...plan.steps.map((s) => s.item), ...failures.keys()]));
      this.settled = plan.settled;
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
    this.settled = new Map();
    this.workloads.clear();
    this.rereading.clear();
    this.fdb = undefined;
    this.host = undefined;
    this.stale.clear();
  }

  /** Everything read again: the workload namespaces at once, or queued behind those an earlier resync has yet to read (`resyncSlice`). */
  private resync(): void {
    if (this.opts.resyncSlice === undefined) return this.forget();
    this.fdb = undefined;
    this.host = undefined;
    this.stale.clear();
    this.rereading.add(this.workloads.keys());
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
    const present = new Set(observed.netns);
    for (const ns of this.workloads.keys()) if (!present.has(ns)) this.workloads.delete(ns);
    for (const [id, { port }] of ports) if (touched.has(portItem(id))) this.workloads.delete(port.workload.netns);
    this.fdb = [...networks.keys()].some((id) => touched.has(networkItem(id))) ? undefined : observed.fdb;
    this.host = new Map(observed.hostLinks.map((l) => [l.name, l]));
    this.stale = this.changedLinks(observed, ports, networks, touched);
    this.changedNamespaces = this.changedIn(ports, networks, touched);
    // what is no longer held is read when a port needs it, queued or not
    this.rereading.retain((ns) => this.workloads.has(ns));
    this.ports = ports;
    this.networks = networks;
  }

  private changedIn(ports: Map<string, AppliedPort>, networks: Map<string, string>, touched: ReadonlySet<L2Item>): Set<string> {
    const changed = new Set<string>();
    for (const [id, { port }] of ports) {
      if (!touched.has(portItem(id))) continue;
      changed.add(port.workload.netns);
      // a port that moved took its interface out of its old namespace
      const before = this.ports.get(id);
      if (before !== undefined) changed.add(before.port.workload.netns);
    }
    if (touched.has('sweep')) for (const [id, { port }] of this.ports) if (!ports.has(id)) changed.add(port.workload.netns);
    if (touched.has('sweep') || [...networks.keys()].some((id) => touched.has(networkItem(id)))) changed.add(this.config.netns ?? '');
    return changed;
  }

  /**
   * The host links the touched items may have changed: a port's and a network's own (see
   * `portLinks`, `networkLinks`); for the sweep, every link of ours that no item of the intent
   * names, with the bridge it was in. (A physnet interface it released is read again with the
   * network that takes it back: only that network's bridge could have held it.)
   */
  private changedLinks(observed: ObservedL2, ports: Map<string, AppliedPort>, networks: Map<string, string>, touched: ReadonlySet<L2Item>): Set<string> {
    const changed = new Set<string>();
    const physnets = this.config.physnets;
    for (const [id, { port }] of ports) if (touched.has(portItem(id))) for (const name of portLinks(port)) changed.add(name);
    for (const id of networks.keys()) if (touched.has(networkItem(id))) for (const name of networkLinks(id, physnets)) changed.add(name);
    if (touched.has('sweep')) {
      const named = new Set([...[...ports.values()].flatMap((p) => portLinks(p.port)), ...[...networks.keys()].flatMap((id) => networkLinks(id, physnets))]);
      for (const l of observed.hostLinks) {
        if (parseOwnerAlias(l.alias) === null || named.has(l.name)) continue;
        changed.add(l.name);
        if (l.master !== null) changed.add(l.master);
      }
    }
    return changed;
  }
}
