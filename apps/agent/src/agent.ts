import { Kvm, type KV } from '@nats-io/kv';
import { type NatsConnection, type Subscription } from '@nats-io/nats-core';
import {
  AGENT_AGGREGATE,
  AGENT_CONTEXT,
  AGENT_HEARTBEAT_BUCKET,
  DESIRED_KINDS,
  DESIRED_STATE_BUCKET,
  agentIdOf,
  parseDesiredKey,
  type AgentEvent,
  type AgentHeartbeat,
  type CommandMetadata,
  type DesiredKind,
  type ResourceReport,
} from '@ncp/contracts';
import { metadataForwardSocket, type CommandRunner } from '@ncp/dataplane';
import { InitialState, KvWatch, watchedKeys, type JetStreamEventStore } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type AgentConfig } from './config';
import { DesiredState } from './desired-state';
import { driverManagers } from './drivers';
import { ReconcileLoop, systemClock, type Clock, type Pass } from './loop';
import { type Manager } from './manager';
import { startMetadataForwarder, type MetadataForwarder } from './metadata-forwarder';
import { StatusReporter } from './status-reporter';

export const AGENT_VERSION = '0.1.0';

/** The last manager a port's status waits for: it is filtered by the security groups, then plugged by L2. */
const PORTS_READY_AFTER = 'l2';

/**
 * The host agent: registers, beats, watches its host's desired state and feeds it to the
 * reconcile loop (loop.ts), whose managers (drivers.ts) each apply one driver's share and
 * whose passes it reports. Level-triggered: a periodic resync heals anything the events missed.
 */
export class HostAgent {
  readonly agentId: string;
  private readonly desired: DesiredState;
  private readonly reporter = new StatusReporter();
  private readonly loop: ReconcileLoop;
  private heartbeatKv: KV | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private control: Subscription | undefined;
  private forwarder: MetadataForwarder | undefined;
  private stopWatching: (() => void) | undefined;
  /** what `netctl agents` shows, carried by the heartbeat */
  private lastReconcile: AgentHeartbeat['lastReconcile'];
  /** the ports' statuses, sent as soon as the managers that decide them ran (see `reportPortsEarly`) */
  private earlyReport: Promise<boolean> | undefined;
  /** Resolves after the first reconcile that saw the whole initial desired state. */
  readonly firstSync: Promise<void>;
  private firstSyncDone: (() => void) | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly nc: NatsConnection,
    private readonly store: JetStreamEventStore,
    runner: CommandRunner,
    private readonly logger: Logger,
    clock: Clock = systemClock,
  ) {
    this.agentId = agentIdOf(config.row, config.host);
    this.desired = new DesiredState(config.netnsPrefix);
    this.firstSync = new Promise((resolve) => (this.firstSyncDone = resolve));
    const managers = driverManagers({ config, desired: this.desired, runner, hasForwarder: () => this.forwarder !== undefined }, logger);
    // Let a burst of KV updates (one publisher pass writes its keys within a millisecond or two) land
    // in one pass; what arrives while a pass runs is in the next anyway.
    this.loop = new ReconcileLoop(managers, clock, {
      resyncMs: config.resyncSeconds * 1000,
      settleMs: 5,
      afterPass: (pass) => this.afterPass(pass),
      afterManager: (m) => this.reportPortsEarly(m),
    });
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
    // through the store's JetStream client: in the cluster's domain when the agent is behind a leaf node
    const kvm = new Kvm(this.store.js);
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
        this.loop.resync();
      },
    });
    // made here if the services have not made it yet
    await kvm.create(this.store.naming.bucket(DESIRED_STATE_BUCKET), { history: 1 });
    await this.watchDesiredState();
    this.loop.start();
  }

  async stop(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.stopWatching?.();
    this.control?.unsubscribe();
    await this.loop.stop();
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

  private async beat(): Promise<void> {
    const beat: AgentHeartbeat = { agentId: this.agentId, at: new Date().toISOString(), ...(this.lastReconcile ? { lastReconcile: this.lastReconcile } : {}) };
    try {
      await this.heartbeatKv?.put(`${this.config.row}.${this.config.host}`, JSON.stringify(beat));
    } catch (err) {
      this.logger.warn({ err }, 'heartbeat failed');
    }
  }

  private async watchDesiredState(): Promise<void> {
    const filter = `${this.config.row}.${this.config.host}.>`;
    // Nothing may be swept before the whole initial state has arrived: list its keys first,
    // deleted keys too, as the watch delivers them
    const jsm = await this.store.jsm();
    const bucket = this.store.naming.bucket(DESIRED_STATE_BUCKET);
    const initial = new InitialState(await watchedKeys(jsm, bucket, filter));
    if (initial.loaded) this.loop.ready();
    const watch = new KvWatch(
      this.store.nc,
      jsm,
      bucket,
      filter,
      (entry) => {
        const changed = entry.value !== null ? this.desired.put(entry.key, entry.value) : this.desired.delete(entry.key);
        // a key written again with what it held, or of no known kind, changes nothing; every
        // manager runs first anyway
        if (changed) this.loop.changed(parseDesiredKey(entry.key)?.kind ?? '');
        if (initial.arrived(entry)) this.loop.ready();
      },
      { logger: this.logger },
    );
    await watch.start();
    this.stopWatching = () => watch.stop();
  }

  /**
   * A port is up once it is filtered (security groups, which run right before L2) and plugged
   * (L2): its status goes out then, while the routers, DHCP and metadata drivers still run.
   * `afterPass` waits for this report before its own, which then skips what this one sent.
   */
  private reportPortsEarly(manager: Manager): void {
    if (manager.name !== PORTS_READY_AFTER) return;
    const managers = this.loop.managers;
    const upTo = managers.slice(0, managers.indexOf(manager) + 1);
    this.earlyReport = this.report(upTo.flatMap((m) => m.outcome.reports));
  }

  /**
   * Reports the statuses of every manager's last pass (what changed since the last report) and
   * logs the pass. A pass that only read BGP sessions back is neither logged nor the heartbeat's
   * last reconcile. False when a report failed: the loop tries again after a backoff.
   */
  private async afterPass(pass: Pass): Promise<boolean> {
    // a failed early report is sent again below: its result is that one's
    await this.earlyReport;
    this.earlyReport = undefined;
    const managers = this.loop.managers;
    const reports = managers.flatMap((m) => m.outcome.reports);
    this.reporter.retain(reports);
    const reported = await this.report(reports);
    if (pass.ran.length === 0 || pass.periodicOnly) return reported;
    const failed = managers.flatMap((m) => m.outcome.failed);
    this.lastReconcile = { at: new Date().toISOString(), ms: pass.ms, failed };
    const count = (kind: DesiredKind) => this.desired.count(kind);
    this.logger.info(
      {
        ms: pass.ms,
        // each manager that ran, with the milliseconds its pass took
        managers: Object.fromEntries(pass.ran.map((m) => [m.name, m.lastPassMs])),
        networks: count(DESIRED_KINDS.l2Network),
        ports: count(DESIRED_KINDS.l2Port),
        routers: count(DESIRED_KINDS.router),
        dhcpServers: count(DESIRED_KINDS.dhcp),
        raRouters: count(DESIRED_KINDS.ra),
        bgpSpeakers: count(DESIRED_KINDS.bgp),
        metadataProxies: count(DESIRED_KINDS.metadata),
        filteredPorts: count(DESIRED_KINDS.sgPort),
        securityGroups: count(DESIRED_KINDS.sgGroup),
        failed,
        // the other items' errors reach their resources' status; these have nowhere else to go
        metadataErrors: managers.find((m) => m.name === 'metadata')?.outcome.errors ?? [],
        secgroupsErrors: managers.find((m) => m.name === 'secgroups')?.outcome.errors ?? [],
      },
      'reconciled',
    );
    this.firstSyncDone?.();
    return reported;
  }

  /** Records what changed since the last report; false when a batch failed (it is reported again next time). */
  private async report(reports: readonly ResourceReport[]): Promise<boolean> {
    let ok = true;
    for (const batch of this.reporter.changes(reports)) {
      try {
        await this.record({ type: 'ResourceStatusReported', data: { host: this.config.host, resources: batch } });
        this.reporter.confirm(batch);
      } catch (err) {
        ok = false;
        this.logger.error({ err }, 'status report failed; will retry');
      }
    }
    return ok;
  }

  /**
   * The agent's own aggregate: it is the only writer, so every fact it states is recorded,
   * without reading its history back (its NATS user may read nothing else of the stream).
   */
  private async record(event: AgentEvent): Promise<void> {
    const envelope = this.store.envelope(event, AGENT_AGGREGATE, this.agentId, this.meta());
    await this.store.appendUnread(this.store.naming.eventSubject(AGENT_CONTEXT, AGENT_AGGREGATE, this.agentId), envelope);
  }
}
