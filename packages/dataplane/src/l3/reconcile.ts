import { RouterIntentSchema, isValidId, type RouterIntent } from '@ncp/contracts';
import { errorMessage } from '../daemon/items.js';
import { type HaState } from '../keepalived/conf.js';
import { convergeKeepalived, keepalivedContext, sweepKeepalived, type KeepalivedOptions } from '../keepalived/reconcile.js';
import { argvNamespace } from '../argv.js';
import { type CommandRunner } from '../runner.js';
import { itemFailures, observeOrFailAll } from '../steps.js';
import { applyL3 } from './apply.js';
import { resolveL3Options, type L3Options } from './model.js';
import { perFrozenObject } from '../memo.js';
import { ResyncSlices } from '../resync-slices.js';
import { afterEffects } from './effects.js';
import { observeL3, type RouterReadBack } from './observe.js';
import { type ObservedL3 } from './observed.js';
import { fipItem, planL3, routerItem, type L3Item, type L3Step } from './plan.js';

/** The outcome of one item: what the agent turns into a status report. */
export type L3ItemResult =
  | { readonly item: L3Item; readonly ok: true; readonly warnings?: readonly string[]; readonly haState?: HaState }
  | { readonly item: L3Item; readonly ok: false; readonly error: string };

const isHa = (r: RouterIntent): boolean => r.ha !== undefined && r.ha !== null;

/**
 * Observe -> plan -> apply. Level-triggered and without memory: every call reads the kernel
 * afresh, so a restarted agent converges and a converged host gets no mutating command.
 * `intents` must be every router of this host: router namespaces that none of them names are
 * deleted.
 *
 * Returns, in intent order, one result per router (`router:<id>`) followed by one per floating
 * IP of that router (`fip:<id>`), then `sweep`. A floating IP fails with its own error, or
 * with its router's when a router command failed (its NAT rules may not be in place).
 * Best-effort failures (gratuitous ARP) come back as warnings of an ok item.
 *
 * HA routers (`ha` set) need `ha` options: their keepalived is converged after the namespace
 * (see `convergeKeepalived`), and an ok router item carries this host's `haState`. The
 * keepalived of routers that are no longer HA routers of this host is stopped first, before
 * their namespaces are swept or their addresses given back to the L3 driver; its failure is
 * the `sweep` item's.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for invalid options. A failure to read the
 *   namespace list is not thrown: every item is reported with it, to be retried.
 */
export async function reconcileL3(
  intents: readonly RouterIntent[],
  runner: CommandRunner,
  options: L3Options = {},
  ha?: KeepalivedOptions,
): Promise<L3ItemResult[]> {
  return new L3Reconciler(runner, options, ha).reconcile(intents, { resync: true });
}

/**
 * `reconcileL3` with memory, as the L2 driver has (`L2Reconciler`): a pass reads back only the
 * router namespaces it has a reason to, those whose routers are new or changed in more than
 * their floating IPs, that the last pass had a command of unknown effect in or an item of
 * failed in, that the caller says someone else changed, and the HA routers' (keepalived
 * changes them on its own); every other one is its last read-back, as the steps of known
 * effect since left it (a floating IP's: see `L3StepEffect`). Without it, every pass read
 * every router namespace of the host, six processes each: a floating IP's latency grew with
 * the routers on the host. A `resync` pass reads them
 * all, as does the pass after one that threw: what someone else changed in a namespace is found
 * there (the agent runs one every `--resync-seconds`). With `resyncSlice`, a resync queues them
 * instead, and the passes after it read them that many at a time (see `ResyncSlices`), while
 * `resyncing` says some are left.
 */
export class L3Reconciler {
  /**
   * each router namespace as last read, while no pass has done anything in it since but steps
   * that say what they did (then as they left it)
   */
  private readBacks = new Map<string, RouterReadBack>();
  /** the intents of each namespace as last applied, floating IPs left out (see `shapeOf`) */
  private applied = new Map<string, string>();
  /** router namespaces a resync has yet to read again */
  private readonly rereading: ResyncSlices;
  /** the VRRP role each HA router's namespace reported last */
  private haStates = new Map<string, HaState>();
  /**
   * The router namespaces the last pass changed or may have: those of routers that are new,
   * gone or changed in more than their floating IPs, those a command of unknown effect named
   * (see `L3StepEffect`), and those of a failed item or of an HA router whose role changed.
   * Undefined after a pass that threw or could not read the namespaces. The drivers that build on router namespaces (RAs, metadata proxies) run after
   * it only for these: a floating IP made them run after every pass of this driver.
   */
  changedNamespaces: ReadonlySet<string> | undefined;

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: L3Options = {},
    private readonly ha?: KeepalivedOptions,
    private readonly slicing: { readonly resyncSlice?: number } = {},
  ) {
    this.rereading = new ResyncSlices(slicing.resyncSlice ?? 0);
  }

  /** Whether a resync has router namespaces left to read again: the next passes read them. */
  get resyncing(): boolean {
    return this.rereading.left;
  }

  /**
   * `changedElsewhere`: namespaces someone else changed since the last pass (the L2 driver
   * plugs the routers' ports into them), read again; `all` when that is not known.
   *
   * @throws DataplaneError `DATAPLANE.INVALID_CONFIG` for invalid options
   */
  async reconcile(
    intents: readonly RouterIntent[],
    {
      resync,
      periodic = false,
      changedElsewhere = new Set(),
    }: { readonly resync: boolean; readonly periodic?: boolean; readonly changedElsewhere?: ReadonlySet<string> | 'all' },
  ): Promise<L3ItemResult[]> {
    if (resync && this.slicing.resyncSlice === undefined) this.readBacks.clear();
    // a namespace still queued keeps its place (each is read again however often resyncs come)
    else if (resync) this.rereading.add(this.readBacks.keys());
    else for (const ns of this.rereading.take(periodic)) this.readBacks.delete(ns);
    if (changedElsewhere === 'all') this.readBacks.clear();
    else for (const ns of changedElsewhere) this.readBacks.delete(ns);
    const byNamespace = new Map<string, RouterIntent[]>();
    for (const r of intents) byNamespace.set(r.namespace, [...(byNamespace.get(r.namespace) ?? []), r]);
    const applied = new Map([...byNamespace].map(([ns, routers]) => [ns, routers.map(shapeOf).join('\n')]));
    // routers new, gone or changed in more than their floating IPs: read again (a floating IP's
    // steps say what they do, see `L3StepEffect`)
    const intentChanged = new Set([...this.applied.keys()].filter((ns) => !applied.has(ns)));
    for (const [ns, json] of applied) if (this.applied.get(ns) !== json) intentChanged.add(ns);
    for (const ns of intentChanged) this.readBacks.delete(ns);
    // the namespaces no intent names any more are swept: nothing of them is kept
    for (const ns of this.readBacks.keys()) if (!applied.has(ns)) this.readBacks.delete(ns);
    this.applied = applied;
    this.changedNamespaces = undefined;
    try {
      const pass = await reconcilePass(intents, this.runner, this.options, this.ha, this.readBacks);
      const touched = touchedNamespaces(intents, pass);
      this.remember(intents, pass, touched);
      if (pass.observed !== undefined) {
        const changed = new Set([...intentChanged, ...touched.failed]);
        // what a step of known effect did (a floating IP's address, the NAT table) is nothing the drivers after this one build on
        for (const [ns, steps] of touched.steps) if (steps.some((s) => s.effect === undefined)) changed.add(ns);
        this.changedNamespaces = this.changedIn(intents, pass, changed);
      }
      return pass.results;
    } catch (err) {
      // what a throwing pass did is not known: the next one reads everything
      this.readBacks.clear();
      this.haStates.clear();
      throw err;
    } finally {
      // what is no longer held is read when its pass comes, queued or not
      this.rereading.retain((ns) => this.readBacks.has(ns));
    }
  }

  /**
   * Keeps the read-back of each namespace the pass read or took, but an HA router's, and but
   * one with a failed item: as it was when the pass ran no command in it, else as the pass'
   * steps left it when each says what it did (see `afterEffects`).
   */
  private remember(intents: readonly RouterIntent[], pass: PassResult, touched: TouchedNamespaces): void {
    this.readBacks = new Map();
    const observed = pass.observed;
    if (observed === undefined) return;
    for (const r of intents) {
      const read = observed.routers[r.namespace];
      if (read === undefined || isHa(r) || touched.failed.has(r.namespace)) continue;
      const state = afterEffects(
        read,
        (touched.steps.get(r.namespace) ?? []).map((s) => s.effect),
      );
      if (state !== undefined) this.readBacks.set(r.namespace, { state, mark: observed.marks?.[r.namespace] ?? null });
    }
  }

  /** `changed`, with the namespaces of the HA routers whose role is not the one they reported last. */
  private changedIn(intents: readonly RouterIntent[], pass: PassResult, changed: Set<string>): Set<string> {
    const results = new Map(pass.results.map((r) => [r.item, r]));
    const haStates = new Map<string, HaState>();
    for (const r of intents) {
      const result = results.get(routerItem(r.id));
      const haState = result?.ok === true ? result.haState : undefined;
      if (haState === undefined) continue;
      haStates.set(r.namespace, haState);
      if (this.haStates.get(r.namespace) !== haState) changed.add(r.namespace);
    }
    this.haStates = haStates;
    return changed;
  }
}

/**
 * A router's intent without its floating IPs: what a change of its namespace's read-back is
 * judged by (the floating IPs' steps say what they do).
 */
/** made once per frozen intent: the agent hands the same ones to every pass until they change */
const shapeOf = perFrozenObject((r: RouterIntent): string => JSON.stringify({ ...r, floatingIps: [] }));

interface TouchedNamespaces {
  /** the steps the pass ran (or tried) in each namespace (made or deleted ones included) */
  readonly steps: ReadonlyMap<string, readonly L3Step[]>;
  /** the namespaces of its routers with a failed item */
  readonly failed: ReadonlySet<string>;
}

function touchedNamespaces(intents: readonly RouterIntent[], pass: PassResult): TouchedNamespaces {
  const steps = new Map<string, L3Step[]>();
  for (const s of pass.steps) {
    const ns = argvNamespace(s.argv);
    if (ns !== null) steps.set(ns, [...(steps.get(ns) ?? []), s]);
  }
  const failedItems = new Set(pass.results.filter((r) => !r.ok).map((r) => r.item));
  const failed = new Set<string>();
  for (const r of intents) {
    const items = [routerItem(r.id), ...(Array.isArray(r.floatingIps) ? r.floatingIps : []).map((f) => fipItem(f.id))];
    if (items.some((item) => failedItems.has(item))) failed.add(r.namespace);
  }
  return { steps, failed };
}

interface PassResult {
  readonly results: L3ItemResult[];
  /** what the pass planned from; undefined when it could not read the namespaces */
  readonly observed?: ObservedL3;
  readonly steps: readonly L3Step[];
}

async function reconcilePass(
  intents: readonly RouterIntent[],
  runner: CommandRunner,
  options: L3Options,
  ha: KeepalivedOptions | undefined,
  known: ReadonlyMap<string, RouterReadBack>,
): Promise<PassResult> {
  resolveL3Options(options); // invalid options are an operator error: thrown, not reported per item
  const keepalived = ha === undefined ? null : keepalivedContext(runner, ha);
  const items: L3Item[] = [];
  const routerOf = new Map<L3Item, L3Item>();
  for (const r of intents) {
    const router = routerItem(r.id);
    if (!items.includes(router)) items.push(router);
    for (const f of Array.isArray(r.floatingIps) ? r.floatingIps : []) {
      if (typeof f.id !== 'string') continue; // reported with its router
      const fip = fipItem(f.id);
      if (!items.includes(fip)) items.push(fip);
      if (!routerOf.has(fip)) routerOf.set(fip, router);
    }
  }
  items.push('sweep');

  // keepalived of routers no longer HA here goes first: it would hold their addresses
  let keepalivedSweep: string | null = null;
  const haRouters = intents.filter(isHa);
  if (keepalived !== null) {
    const byId = (routers: readonly RouterIntent[]) =>
      routers.flatMap((r) => (typeof r.id === 'string' && isValidId(r.id) ? [[r.id.toLowerCase(), r] as const] : []));
    const wanted = new Set(byId(haRouters).map(([id]) => id));
    const legacy = new Map(byId(intents.filter((r) => !isHa(r) && RouterIntentSchema.safeParse(r).success)));
    try {
      await sweepKeepalived(keepalived, wanted, legacy);
    } catch (error) {
      keepalivedSweep = `stopping keepalived failed: ${errorMessage(error)}`;
    }
  }

  const read = await observeOrFailAll(items, 'the router namespaces', () => observeL3(intents, runner, options, known));
  if ('failed' in read) return { results: read.failed, steps: [] };
  const plan = planL3(intents, read.observed, options);
  const applied = await applyL3(plan.steps, runner);

  const failures = itemFailures(plan, applied);
  const warnings = new Map<L3Item, readonly string[]>();
  for (const r of applied) if (r.warnings.length > 0) warnings.set(r.item, r.warnings);
  const appliedFailures = new Map(applied.flatMap((r) => (r.ok ? [] : [[r.item, r.error] as const])));

  // keepalived of each HA router whose namespace is there (even with an interface not plugged
  // yet: keepalived adds its addresses when it appears)
  const haStates = new Map<L3Item, HaState>();
  const haFailures = new Map<L3Item, string>();
  if (keepalivedSweep !== null) haFailures.set('sweep', keepalivedSweep);
  const created = new Set(plan.steps.filter((s) => s.argv[1] === 'netns' && s.argv[2] === 'add').map((s) => s.item));
  for (const r of haRouters) {
    const item = routerItem(r.id);
    if (keepalived === null) {
      haFailures.set(item, 'an HA router needs keepalived, and this agent has no state directory for it');
      continue;
    }
    // a command of the router failed, or its namespace is not there: not yet
    if (appliedFailures.has(item) || !(read.observed.netns.includes(r.namespace) || created.has(item))) continue;
    try {
      haStates.set(item, await convergeKeepalived(keepalived, r));
    } catch (error) {
      haFailures.set(item, `keepalived: ${errorMessage(error)}`);
    }
  }

  const results = items.map((item): L3ItemResult => {
    const router = routerOf.get(item);
    const routerFailure = router === undefined ? undefined : appliedFailures.get(router);
    const error =
      failures.get(item) ?? haFailures.get(item) ?? (routerFailure === undefined || router === undefined ? undefined : `${router} failed: ${routerFailure}`);
    if (error !== undefined) return { item, ok: false, error };
    const w = warnings.get(item);
    const haState = haStates.get(item);
    return { item, ok: true, ...(w === undefined ? {} : { warnings: w }), ...(haState === undefined ? {} : { haState }) };
  });
  return { results, observed: read.observed, steps: plan.steps };
}
