import {
  DESIRED_KINDS,
  ROUTER_NAMESPACE_PREFIX,
  type BgpSpeakerIntent,
  type DhcpServerIntent,
  type L2HostIntent,
  type MetadataProxyIntent,
  type RaIntent,
  type RouterIntent,
  type SgHostIntent,
} from '@ncp/contracts';
import {
  metadataForwardSocket,
  reconcileBgp,
  reconcileDhcp,
  L2Reconciler,
  L3Reconciler,
  reconcileMetadata,
  forgetSettledIn,
  SecurityGroupsApplier,
  type BgpItemResult,
  type CommandRunner,
  type DhcpItemResult,
  type L2ItemResult,
  type L3ItemResult,
  type MetadataItemResult,
  type SettledDaemons,
} from '@ncp/dataplane';
import { type Logger } from '@ncp/nest-common';
import { type AgentConfig } from './config';
import { type DesiredState } from './desired-state';
import { Manager, type ManagerSpec } from './manager';
import { reports, type DriverResult } from './reports';

export interface DriverDeps {
  readonly config: AgentConfig;
  readonly desired: DesiredState;
  readonly runner: CommandRunner;
  /** whether the metadata forwarder listens (without a secret there is none) */
  readonly hasForwarder: () => boolean;
}

/** The security groups driver's one item: the host's whole filtering. */
export const SECGROUPS_ITEM = 'secgroups';

/** Every item fails with `error` (the driver threw). */
/**
 * Whose router namespaces these are: the host, and with a NATS prefix (one of several
 * deployments sharing a machine, as test stacks do) the prefix too, so that two deployments
 * with a host of the same name never sweep each other's routers.
 */
export const l3Owner = (config: Pick<AgentConfig, 'host' | 'natsPrefix'>): string =>
  config.natsPrefix === '' ? config.host : `${config.host}:${config.natsPrefix.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}`;

const allFailed = <T extends string>(items: readonly T[], error: string) => items.map((item) => ({ item, ok: false as const, error }));

/**
 * Workload namespaces a resync reads again per L2 pass, and how soon the next pass takes the
 * next slice: a bind waits for one slice at most, and 5,000 namespaces are read again in about
 * half a minute, within a resync period.
 */
const L2_RESYNC_SLICE = 32;
const L2_RESYNC_SLICE_EVERY_MS = 200;
/**
 * The same for router namespaces, six reads each: 1,000 routers in about 35 s. Two at a time,
 * more often: a change that comes during a slice waits for it (six took a second on a busy
 * 2-core machine, and a floating IP behind it as long).
 */
const L3_RESYNC_SLICE = 2;
const L3_RESYNC_SLICE_EVERY_MS = 70;

/**
 * Between resyncs it reads back only the workload namespaces a change concerns, and a resync
 * reads them again a slice per pass (see L2Reconciler).
 */
const l2 = ({ config, desired, runner }: DriverDeps): ManagerSpec<L2HostIntent, L2ItemResult> => {
  const reconciler = new L2Reconciler({ netns: config.hostNetns, tunnelIp: config.tunnelIp, physnets: config.physnets }, runner, {
    resyncSlice: L2_RESYNC_SLICE,
  });
  return {
    name: 'l2',
    kinds: [DESIRED_KINDS.l2Network, DESIRED_KINDS.l2Port],
    periodFor: () => (reconciler.resyncing ? L2_RESYNC_SLICE_EVERY_MS : undefined),
    desired: () => desired.l2Intent(),
    apply: (intent, pass) => reconciler.reconcile(intent, pass),
    // a port plugged into a VM's namespace is nothing the router, DHCP and metadata drivers build on
    changedNamespaces: () => reconciler.changedNamespaces,
    failed: (intent, error) =>
      allFailed([...intent.networks.map((n) => `network:${n.id}` as const), ...intent.ports.map((p) => `port:${p.id}` as const)], error),
    reports: (intent, results) => reports({ l2: { ports: intent.ports, results } }),
  };
};

/**
 * The host's security groups and port security, in one nft transaction per change holding only
 * what changed (the applier remembers what it loaded; its first apply, as after a restart or a
 * failure, replaces its own tables whole, so nothing needs to be remembered across restarts).
 * It runs before L2, which plugs the taps it filters: its sets name a port's tap whether it
 * exists or not, so a new port is filtered from the moment L2 brings it up (a tap in none of
 * its sets is not filtered at all, and after L2 a cold start left every port open for the whole
 * L2 pass). It follows L2's ports too (a filtered port is held closed until its own entry
 * comes). Like the metadata proxies it has no resource status: a failure shows in the log (and
 * the heartbeat's failed items).
 */
const secgroups = ({ config, desired, runner }: DriverDeps): ManagerSpec<SgHostIntent, DriverResult> => {
  const applier = new SecurityGroupsApplier(runner, { netns: config.hostNetns });
  return {
    name: 'secgroups',
    kinds: [DESIRED_KINDS.sgPort, DESIRED_KINDS.sgGroup, DESIRED_KINDS.sgMembers, DESIRED_KINDS.l2Port],
    desired: () => desired.sgIntent(),
    apply: async (intent) => {
      const result = await applier.apply(intent);
      return [result.ok ? { item: SECGROUPS_ITEM, ok: true } : { item: SECGROUPS_ITEM, ok: false, error: result.error }];
    },
    failed: (_intent, error) => allFailed([SECGROUPS_ITEM], error),
    reports: () => [],
  };
};

/**
 * The routers of this host. An HA router's role (VRRP master or backup) changes on its own, so
 * the driver runs again every `haStatusSeconds` while the host has one: a converged pass only
 * reads the HA routers' namespaces back, and reports a changed role. Between resyncs a pass
 * reads back only the router namespaces a change concerns, and a resync's are read again a
 * slice per pass (see L3Reconciler).
 */
const l3 = ({ config, desired, runner }: DriverDeps): ManagerSpec<readonly RouterIntent[], L3ItemResult> => {
  const reconciler = new L3Reconciler(
    runner,
    { owner: l3Owner(config), namespacePrefix: `${config.netnsPrefix}${ROUTER_NAMESPACE_PREFIX}` },
    { stateDir: config.stateDir },
    { resyncSlice: L3_RESYNC_SLICE },
  );
  return {
    name: 'l3',
    kinds: [DESIRED_KINDS.router],
    // it configures the router ports the L2 driver plugs
    after: ['l2'],
    periodFor: (routers) =>
      reconciler.resyncing ? L3_RESYNC_SLICE_EVERY_MS : routers.some((r) => r.ha !== undefined && r.ha !== null) ? config.haStatusSeconds * 1000 : undefined,
    desired: () => {
      const { intents, invalid } = desired.routerIntents();
      return { intent: intents, invalid };
    },
    namespaces: (routers) => routers.map((r) => r.namespace),
    // Namespaces are global to the machine: the owner mark keeps agents sharing one (tests,
    // several hosts in namespaces, several deployments told apart by their NATS prefix) from
    // sweeping each other's routers.
    // the namespaces L2 changed in the pass (a router port plugged again) are read again; all
    // of them when it cannot tell
    apply: (routers, { resync, periodic, changedBefore }) => reconciler.reconcile(routers, { resync, periodic, changedElsewhere: changedBefore ?? 'all' }),
    // RAs and metadata proxies run in router namespaces: they follow only the ones it changed
    changedNamespaces: () => reconciler.changedNamespaces,
    failed: (routers, error) =>
      allFailed(
        routers.flatMap((r) => [`router:${r.id}` as const, ...r.floatingIps.map((f) => `fip:${f.id}` as const)]),
        error,
      ),
    reports: (routers, results) => reports({ l3: { routers, results } }),
  };
};

interface DhcpIntent {
  readonly servers: readonly DhcpServerIntent[];
  readonly ras: readonly RaIntent[];
  /** this host's HA routers: keepalived holds their RA source addresses */
  readonly haRouterIds: readonly string[];
}

const dhcp = ({ config, desired, runner }: DriverDeps): ManagerSpec<DhcpIntent, DhcpItemResult> => {
  // what its last pass changed, for the metadata proxies (undefined until one ends)
  let changed: Set<string> | undefined;
  // the servers and RAs found in place: a pass after a port's change read every server's namespace
  const settled: SettledDaemons = new Map();
  return {
    name: 'dhcp',
    kinds: [DESIRED_KINDS.dhcp, DESIRED_KINDS.ra],
    // DHCP ports are plugged by L2; RAs go out of the qr- interfaces the L3 driver has addressed.
    // A router's change (its HA role's with it) reaches it as L3's change of the router's
    // namespace: watching the router kind ran it for every floating IP.
    after: ['l2', 'l3'],
    desired: () => {
      const servers = desired.dhcpIntents();
      const ras = desired.raIntents();
      const haRouterIds = desired
        .routerIntents()
        .intents.filter((r) => r.ha !== undefined && r.ha !== null)
        .map((r) => r.id);
      return { intent: { servers: servers.intents, ras: ras.intents, haRouterIds }, invalid: [...servers.invalid, ...ras.invalid] };
    },
    namespaces: ({ servers, ras }) => [...servers.map((d) => d.namespace), ...ras.map((r) => r.namespace)],
    apply: async ({ servers, ras, haRouterIds }, { resync, changedBefore }) => {
      changed = undefined;
      forgetSettledIn(settled, resync ? undefined : changedBefore);
      const changedNamespaces = new Set<string>();
      const results = await reconcileDhcp(servers, ras, runner, { stateDir: config.stateDir, haRouterIds, changedNamespaces, settled });
      changed = changedNamespaces;
      return results;
    },
    changedNamespaces: () => changed,
    failed: ({ servers, ras }, error) =>
      allFailed([...servers.map((d) => `dhcp:${d.networkId}` as const), ...ras.map((r) => `ra:${r.routerId}` as const)], error),
    reports: ({ servers, ras }, results) => reports({ dhcp: { servers, ras, results } }),
  };
};

interface MetadataIntent {
  readonly proxies: readonly MetadataProxyIntent[];
  /** this host's router and DHCP namespaces, where the proxies run */
  readonly namespaces: readonly string[];
}

/**
 * The metadata proxies, in the router and DHCP namespaces the managers before it make. Without
 * a forwarder (no secret) none could answer: the ones running are swept and every intent fails.
 * The metadata addresses in any of the namespaces that no intent names are removed (the
 * metadata of a network moved elsewhere). Metadata proxies have no resource status (yet):
 * their failures show in the log only.
 */
const metadata = ({ config, desired, runner, hasForwarder }: DriverDeps): ManagerSpec<MetadataIntent, MetadataItemResult> => {
  // the namespaces its sweep found without a metadata address, until the next resync: a pass
  // after a router's change (a floating IP) read every router namespace of the host
  const clean = new Set<string>();
  // the proxies found in place, until the intent, the pid or the namespace changes (a resync
  // reads them all): a pass after a router's change read every proxy's namespace, twice
  const settled: SettledDaemons = new Map();
  return {
    name: 'metadata',
    kinds: [DESIRED_KINDS.metadata],
    // it binds on the interfaces those make, and cannot tell one that is missing yet
    after: ['l2', 'l3', 'dhcp'],
    desired: () => {
      const proxies = desired.metadataIntents();
      const namespaces = [...desired.routerIntents().intents.map((r) => r.namespace), ...desired.dhcpIntents().intents.map((d) => d.namespace)];
      return { intent: { proxies: proxies.intents, namespaces }, invalid: proxies.invalid };
    },
    namespaces: ({ namespaces }) => namespaces,
    apply: async ({ proxies, namespaces }, { resync, changedBefore }) => {
      if (resync) clean.clear();
      forgetSettledIn(settled, resync ? undefined : changedBefore);
      const options = { stateDir: config.stateDir, namespaces, forwardSocket: metadataForwardSocket(config.stateDir), clean, settled };
      if (hasForwarder()) return reconcileMetadata(proxies, runner, options);
      const swept = await reconcileMetadata([], runner, options);
      const error = 'no metadata shared secret configured on this agent (METADATA_PROXY_SHARED_SECRET or --metadata-secret-file): proxy not started';
      return [
        ...allFailed(
          proxies.map((i) => `metadata:${i.id}` as const),
          error,
        ),
        ...swept,
      ];
    },
    failed: ({ proxies }, error) =>
      allFailed(
        proxies.map((i) => `metadata:${i.id}` as const),
        error,
      ),
    reports: () => [],
  };
};

/**
 * BIRD runs where the agent's links to the core routers are: its host namespace. Its sessions
 * change on their own (a peer comes up minutes after BIRD starts): it runs again every
 * `bgpStatusSeconds`, which for converged speakers only reads `birdc show protocols all`.
 */
const bgp = ({ config, desired, runner }: DriverDeps): ManagerSpec<readonly BgpSpeakerIntent[], BgpItemResult> => ({
  name: 'bgp',
  kinds: [DESIRED_KINDS.bgp],
  periodMs: config.bgpStatusSeconds * 1000,
  desired: () => {
    const { intents, invalid } = desired.bgpIntents();
    return { intent: intents, invalid };
  },
  apply: (speakers) => reconcileBgp(speakers, runner, { stateDir: config.stateDir, hostNetns: config.hostNetns }),
  failed: (speakers, error) =>
    allFailed(
      speakers.map((s) => `bgp:${s.speakerId}` as const),
      error,
    ),
  reports: (speakers, results) => reports({ bgp: { speakers, results } }),
});

/**
 * The managers in pass order: the security groups filter the ports L2 then plugs; L2 plugs the
 * ports the others configure; the metadata proxies run in the namespaces L3 and DHCP make.
 */
export function driverManagers(deps: DriverDeps, logger: Logger): Manager[] {
  return [
    new Manager(secgroups(deps), logger),
    new Manager(l2(deps), logger),
    new Manager(l3(deps), logger),
    new Manager(dhcp(deps), logger),
    new Manager(metadata(deps), logger),
    new Manager(bgp(deps), logger),
  ];
}
