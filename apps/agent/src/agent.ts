import { setTimeout as sleep } from 'node:timers/promises';
import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection, type Subscription } from '@nats-io/nats-core';
import {
  AGENT_AGGREGATE,
  AGENT_CONTEXT,
  AGENT_HEARTBEAT_BUCKET,
  DESIRED_STATE_BUCKET,
  agentIdOf,
  type AgentEvent,
  type AgentHeartbeat,
  type CommandMetadata,
  type Decider,
  type MetadataProxyIntent,
  type ResourceReport,
} from '@ncp/contracts';
import {
  metadataForwardSocket,
  reconcileBgp,
  reconcileDhcp,
  reconcileL2,
  reconcileL3,
  reconcileMetadata,
  type BgpItemResult,
  type CommandRunner,
  type L2HostConfig,
  type MetadataItemResult,
} from '@ncp/dataplane';
import { AggregateRepository, type JetStreamEventStore } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type AgentConfig } from './config';
import { bgpReports } from './bgp-reports';
import { DesiredState } from './desired-state';
import { startMetadataForwarder, type MetadataForwarder } from './metadata-forwarder';
import { StatusReporter } from './status-reporter';

type AgentCommand = { type: 'Record'; event: AgentEvent };

/** The agent's own aggregate: it is the only writer, so every fact it states is recorded. */
const agentDecider: Decider<null, AgentCommand, AgentEvent> = {
  context: AGENT_CONTEXT,
  aggregate: AGENT_AGGREGATE,
  initialState: () => null,
  evolve: (s) => s,
  decide: (c) => [c.event],
};

export const AGENT_VERSION = '0.1.0';

/**
 * Felix-style loop: desired state in (KV watch) -> mark dirty -> reconcile the whole host
 * with the drivers, which read the kernel back and apply the minimal change -> report
 * what changed. Level-triggered: a periodic resync heals anything the events missed.
 */
export class HostAgent {
  readonly agentId: string;
  private readonly desired = new DesiredState();
  private readonly reporter = new StatusReporter();
  private readonly repo: AggregateRepository<null, AgentCommand, AgentEvent>;
  private heartbeatKv: KV | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private control: Subscription | undefined;
  private forwarder: MetadataForwarder | undefined;
  private stopWatching: (() => void) | undefined;
  private dirty = true;
  private wake: (() => void) | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private failures = 0;
  /** what `netctl agents` shows, carried by the heartbeat */
  private lastReconcile: AgentHeartbeat['lastReconcile'];
  /** Resolves after the first reconcile that saw the whole initial desired state. */
  readonly firstSync: Promise<void>;
  private firstSyncDone: (() => void) | undefined;
  private initialLoaded = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly nc: NatsConnection,
    private readonly store: JetStreamEventStore,
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
  ) {
    this.agentId = agentIdOf(config.row, config.host);
    this.repo = new AggregateRepository(store, agentDecider);
    this.firstSync = new Promise((resolve) => (this.firstSyncDone = resolve));
  }

  private meta(): CommandMetadata {
    return {
      now: new Date().toISOString(),
      correlationId: `agent-${this.agentId}-${Date.now()}`,
      causationId: null,
      projectId: '',
      actor: `agent:${this.config.row}/${this.config.host}`,
      isAdmin: true,
    };
  }

  async start(): Promise<void> {
    const { row, host } = this.config;
    const kvm = new Kvm(this.nc);
    await this.record({
      type: 'AgentRegistered',
      data: {
        row,
        host,
        roles: this.config.roles,
        tunnelIp: this.config.tunnelIp,
        physnets: this.config.physnets,
        version: AGENT_VERSION,
        startedAt: new Date().toISOString(),
      },
    });
    this.heartbeatKv = await kvm.create(this.store.naming.bucket(AGENT_HEARTBEAT_BUCKET), { history: 1 });
    await this.beat();
    await this.startMetadataForwarder();
    this.heartbeatTimer = setInterval(() => void this.beat(), this.config.heartbeatSeconds * 1000);
    this.control = this.nc.subscribe(this.store.naming.agentControlSubject(row, host, 'resync'), {
      callback: () => {
        this.logger.info('resync requested: reporting every status again');
        this.reporter.reset();
        this.markDirty();
      },
    });
    await this.watchDesiredState(await kvm.create(this.store.naming.bucket(DESIRED_STATE_BUCKET), { history: 1 }));
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.stopWatching?.();
    this.control?.unsubscribe();
    await this.loop;
    // the proxies stay (as dnsmasq and BIRD do) and answer 502 until the next agent listens
    await this.forwarder?.close();
  }

  /** The socket the metadata proxies forward to; only with a secret to sign their requests with. */
  private async startMetadataForwarder(): Promise<void> {
    const { metadataSecret: secret, metadataUrl } = this.config;
    if (secret === null) {
      this.logger.warn('no metadata shared secret (METADATA_PROXY_SHARED_SECRET or --metadata-secret-file): this host runs no metadata proxies');
      return;
    }
    const socketPath = metadataForwardSocket(this.config.stateDir);
    this.forwarder = await startMetadataForwarder({ socketPath, metadataUrl, secret, logger: this.logger });
    this.logger.info({ socketPath, metadataUrl }, 'metadata forwarder listening');
  }

  /**
   * The metadata proxies, in the router and DHCP namespaces made earlier in the pass. Without a
   * forwarder (no secret) none could answer: the ones running are swept and every intent fails.
   * `namespaces` are this host's router and DHCP namespaces: the metadata addresses in any of
   * them that no intent names are removed (the metadata of a network moved elsewhere).
   */
  private async reconcileMetadataProxies(intents: readonly MetadataProxyIntent[], namespaces: readonly string[]): Promise<MetadataItemResult[]> {
    const options = { stateDir: this.config.stateDir, namespaces, forwardSocket: metadataForwardSocket(this.config.stateDir) };
    if (this.forwarder !== undefined) return reconcileMetadata(intents, this.runner, options);
    const swept = await reconcileMetadata([], this.runner, options);
    const error = 'no metadata shared secret configured on this agent (METADATA_PROXY_SHARED_SECRET or --metadata-secret-file): proxy not started';
    return [...intents.map((i): MetadataItemResult => ({ item: `metadata:${i.id}`, ok: false, error })), ...swept];
  }

  markDirty(): void {
    this.dirty = true;
    this.wake?.();
  }

  private async beat(): Promise<void> {
    const beat: AgentHeartbeat = { agentId: this.agentId, at: new Date().toISOString(), ...(this.lastReconcile ? { lastReconcile: this.lastReconcile } : {}) };
    try {
      await this.heartbeatKv?.put(`${this.config.row}.${this.config.host}`, JSON.stringify(beat));
    } catch (err) {
      this.logger.warn({ err }, 'heartbeat failed');
    }
  }

  private async watchDesiredState(kv: KV): Promise<void> {
    const filter = `${this.config.row}.${this.config.host}.>`;
    // Nothing may be swept before the whole initial state has arrived: count it first.
    let expected = 0;
    for await (const _key of await kv.keys(filter)) expected++;
    let seen = 0;
    if (expected === 0) this.initialLoaded = true;
    const watcher = await kv.watch({ key: filter });
    this.stopWatching = () => watcher.stop();
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation === 'PUT') this.desired.put(entry.key, entry.string());
        else this.desired.delete(entry.key);
        if (!this.initialLoaded && (++seen >= expected || entry.delta === 0)) this.initialLoaded = true;
        if (this.initialLoaded) this.markDirty();
      }
    })();
  }

  private async run(): Promise<void> {
    let nextResync = Date.now() + this.config.resyncSeconds * 1000;
    let nextBgpPoll = Date.now() + this.config.bgpStatusSeconds * 1000;
    while (this.running) {
      const backoff = this.failures > 0 ? Math.min(30_000, 500 * 2 ** (this.failures - 1)) : Infinity;
      const wait = Math.max(0, Math.min(backoff, nextResync - Date.now(), nextBgpPoll - Date.now()));
      if (!this.dirty || !this.initialLoaded) {
        await Promise.race([sleep(wait), new Promise<void>((resolve) => (this.wake = resolve))]);
        this.wake = undefined;
      }
      if (!this.running) return;
      const resyncDue = Date.now() >= nextResync;
      if (this.initialLoaded && !this.dirty && !resyncDue && this.failures === 0 && Date.now() >= nextBgpPoll) {
        nextBgpPoll = Date.now() + this.config.bgpStatusSeconds * 1000;
        await this.pollBgpSessions();
        continue;
      }
      if (!this.initialLoaded || (!this.dirty && !resyncDue && this.failures === 0)) continue;
      // Let a burst of KV updates land before touching the kernel.
      await sleep(20);
      this.dirty = false;
      if (resyncDue) nextResync = Date.now() + this.config.resyncSeconds * 1000;
      nextBgpPoll = Date.now() + this.config.bgpStatusSeconds * 1000;
      await this.reconcile();
    }
  }

  /**
   * BGP sessions change on their own (a peer comes up minutes after BIRD starts): between
   * full passes, the BGP driver alone runs again, which for converged speakers only reads
   * `birdc show protocols all`, and what changed is reported.
   */
  private async pollBgpSessions(): Promise<void> {
    const bgp = this.desired.bgpIntents();
    if (bgp.intents.length === 0) return;
    try {
      const results = await reconcileBgp(bgp.intents, this.runner, { stateDir: this.config.stateDir, hostNetns: this.config.hostNetns });
      await this.report(bgpReports(bgp.intents, results));
    } catch (err) {
      this.logger.warn({ err }, 'reading the BGP sessions failed');
    }
  }

  private hostConfig(): L2HostConfig {
    return { netns: this.config.hostNetns, tunnelIp: this.config.tunnelIp, physnets: this.config.physnets };
  }

  private async reconcile(): Promise<void> {
    const started = Date.now();
    const { intent, invalid } = this.desired.l2Intent();
    const routers = this.desired.routerIntents();
    const dhcp = this.desired.dhcpIntents();
    const ras = this.desired.raIntents();
    const bgp = this.desired.bgpIntents();
    const metadata = this.desired.metadataIntents();
    for (const i of [...invalid, ...routers.invalid, ...dhcp.invalid, ...ras.invalid, ...bgp.invalid, ...metadata.invalid]) this.logger.error(i, 'desired state entry ignored');
    let l2: Awaited<ReturnType<typeof reconcileL2>>;
    let l3: Awaited<ReturnType<typeof reconcileL3>>;
    let dhcpResults: Awaited<ReturnType<typeof reconcileDhcp>>;
    let bgpResults: BgpItemResult[];
    let metadataResults: MetadataItemResult[];
    try {
      // L2 first: it plugs the router and DHCP ports that the L3 and DHCP drivers then configure;
      // RAs go out of the qr- interfaces the L3 driver has addressed.
      l2 = await reconcileL2(intent, this.hostConfig(), this.runner);
      // Namespaces are global to the machine: the owner mark keeps agents sharing one (tests,
      // several hosts in namespaces) from sweeping each other's routers.
      l3 = await reconcileL3(routers.intents, this.runner, { owner: this.config.host });
      dhcpResults = await reconcileDhcp(dhcp.intents, ras.intents, this.runner, { stateDir: this.config.stateDir });
      // after L3 and DHCP: the proxies run in the router and DHCP namespaces they make
      metadataResults = await this.reconcileMetadataProxies(metadata.intents, [...routers.intents.map((r) => r.namespace), ...dhcp.intents.map((d) => d.namespace)]);
      // BIRD runs where the agent's links to the core routers are: its host namespace.
      bgpResults = await reconcileBgp(bgp.intents, this.runner, { stateDir: this.config.stateDir, hostNetns: this.config.hostNetns });
    } catch (err) {
      this.failures++;
      this.logger.error({ err, failures: this.failures }, 'reconcile failed');
      return;
    }
    // Metadata proxies have no resource status (yet): their failures show in this pass's log only.
    const results = [...l2, ...l3, ...dhcpResults, ...metadataResults, ...bgpResults];
    const failed = results.filter((r) => !r.ok);
    this.failures = failed.length > 0 ? this.failures + 1 : 0;
    const byItem = new Map<string, { ok: boolean; error?: string }>(results.map((r) => [r.item, r]));
    const errorOf = (item: string) => {
      const r = byItem.get(item);
      return r && !r.ok ? (r.error ?? 'failed') : undefined;
    };
    const reports: ResourceReport[] = intent.ports.map((p) => {
      const netError = errorOf(`network:${p.networkId}`);
      const error = errorOf(`port:${p.id}`) ?? (netError !== undefined ? `network ${p.networkId}: ${netError}` : undefined);
      if (error !== undefined) return { kind: 'port', id: p.id, networkId: p.networkId, status: 'ERROR', reason: error };
      return { kind: 'port', id: p.id, networkId: p.networkId, status: p.adminStateUp ? 'ACTIVE' : 'DOWN', reason: p.adminStateUp ? 'plugged' : 'admin down' };
    });
    for (const r of routers.intents) {
      const error = errorOf(`router:${r.id}`);
      reports.push({
        kind: 'router',
        id: r.id,
        networkId: null,
        status: error !== undefined ? 'ERROR' : r.adminStateUp ? 'ACTIVE' : 'DOWN',
        reason: error ?? (r.adminStateUp ? 'configured' : 'admin down'),
      });
      for (const f of r.floatingIps) {
        const fipError = errorOf(`fip:${f.id}`);
        reports.push({ kind: 'floatingip', id: f.id, networkId: null, status: fipError !== undefined ? 'ERROR' : 'ACTIVE', reason: fipError ?? 'NAT in place' });
      }
    }
    const dhcpWarnings = new Map(dhcpResults.flatMap((r) => (r.ok && r.warnings ? [[r.item, r.warnings.join('\n')] as const] : [])));
    for (const d of dhcp.intents) {
      const error = errorOf(`dhcp:${d.networkId}`);
      reports.push({ kind: 'dhcp', id: d.networkId, networkId: d.networkId, status: error !== undefined ? 'ERROR' : 'ACTIVE', reason: error ?? 'serving' });
      if (error !== undefined) continue;
      // Each port dnsmasq now serves, so IPAM lifts its DHCP provisioning block; the reason
      // names what is served, so a changed MAC or address is confirmed again.
      const warnings = dhcpWarnings.get(`dhcp:${d.networkId}`) ?? '';
      for (const h of d.hosts) {
        if (warnings.includes(h.portId)) continue;
        reports.push({ kind: 'dhcp_port', id: h.portId, networkId: d.networkId, status: 'ACTIVE', reason: `served: ${h.macAddress} ${h.ipAddresses.join(' ')}` });
      }
    }
    for (const r of ras.intents) {
      const error = errorOf(`ra:${r.routerId}`);
      reports.push({ kind: 'ra', id: r.routerId, networkId: null, status: error !== undefined ? 'ERROR' : 'ACTIVE', reason: error ?? 'advertising' });
    }
    reports.push(...bgpReports(bgp.intents, bgpResults));
    this.reporter.retain(new Set(reports.map((r) => `${r.kind}:${r.id}`)));
    await this.report(reports);
    this.lastReconcile = { at: new Date().toISOString(), ms: Date.now() - started, failed: failed.map((f) => f.item) };
    this.logger.info(
      {
        ms: Date.now() - started,
        networks: intent.networks.length,
        ports: intent.ports.length,
        routers: routers.intents.length,
        dhcpServers: dhcp.intents.length,
        raRouters: ras.intents.length,
        bgpSpeakers: bgp.intents.length,
        metadataProxies: metadata.intents.length,
        failed: failed.map((f) => f.item),
        // the other items' errors reach their resources' status; these have nowhere else to go
        metadataErrors: metadataResults.flatMap((r) => (r.ok ? [] : [`${r.item}: ${r.error}`])),
      },
      'reconciled',
    );
    this.firstSyncDone?.();
  }

  /** Records what changed since the last report; a failed batch is reported again next time. */
  private async report(reports: readonly ResourceReport[]): Promise<void> {
    for (const batch of this.reporter.changes(reports)) {
      try {
        await this.record({ type: 'ResourceStatusReported', data: { host: this.config.host, resources: batch } });
        this.reporter.confirm(batch);
      } catch (err) {
        this.failures = Math.max(this.failures, 1);
        this.logger.error({ err }, 'status report failed; will retry');
      }
    }
  }

  private async record(event: AgentEvent): Promise<void> {
    await this.repo.execute(this.agentId, { type: 'Record', event }, this.meta());
  }
}

