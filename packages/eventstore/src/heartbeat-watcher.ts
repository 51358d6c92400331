import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { AGENT_HEARTBEAT_BUCKET, type AgentHeartbeat, type Naming } from '@ncp/contracts';
import { whileClusterSettles } from './cluster-settling';
import { KvWatch, type WatchedEntry } from './kv-watch';

/** Agents' last heartbeats (KV bucket `ncp_agents`, key `<row>.<host>`), kept current by a watch. */
export class HeartbeatWatcher {
  private readonly lastSeen = new Map<string, { row: string; at: Date }>();
  private watcher: { stop(): void } | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly downAfterSeconds: number,
    private readonly onBeat?: (row: string, host: string) => void,
  ) {}

  async start(): Promise<void> {
    const bucket = this.naming.bucket(AGENT_HEARTBEAT_BUCKET);
    await whileClusterSettles(() => new Kvm(this.nc).create(bucket, { history: 1 }));
    // a watch that goes on after its NATS server dies: one that stayed deaf would take every
    // agent for dead (and move their routers away) once the down time has passed
    const watch = new KvWatch(this.nc, await jetstreamManager(this.nc), bucket, '>', (entry) => this.beat(entry));
    await whileClusterSettles(() => watch.start());
    this.watcher = watch;
  }

  private beat(entry: WatchedEntry): void {
    if (entry.value === null) return;
    const [row, host] = entry.key.split('.');
    if (!row || !host) return;
    // a value that is not a heartbeat is ignored: it must not end the watch (nor the process)
    let at: Date;
    try {
      at = new Date((JSON.parse(entry.value) as AgentHeartbeat).at);
    } catch {
      return;
    }
    if (Number.isNaN(at.getTime())) return;
    this.lastSeen.set(host, { row, at });
    this.onBeat?.(row, host);
  }

  stop(): void {
    this.watcher?.stop();
  }

  heartbeat(host: string): Date | undefined {
    return this.lastSeen.get(host)?.at;
  }

  isAlive(host: string, now = new Date()): boolean {
    const seen = this.lastSeen.get(host);
    return seen !== undefined && now.getTime() - seen.at.getTime() <= this.downAfterSeconds * 1000;
  }

  /**
   * Known dead: its last heartbeat is older than the down time. A host not heard of yet (the
   * watch is still reading the bucket, as right after a restart) is not known dead: what acts
   * on a death (moving a router away) must not act on that.
   */
  isDead(host: string, now = new Date()): boolean {
    return this.lastSeen.has(host) && !this.isAlive(host, now);
  }
}
