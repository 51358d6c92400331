import { Kvm } from '@nats-io/kv';
import { type NatsConnection } from '@nats-io/nats-core';
import { AGENT_HEARTBEAT_BUCKET, type AgentHeartbeat, type Naming } from '@ncp/contracts';
import { whileClusterSettles } from './cluster-settling';

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
    const watcher = await whileClusterSettles(async () => (await new Kvm(this.nc).create(this.naming.bucket(AGENT_HEARTBEAT_BUCKET), { history: 1 })).watch());
    this.watcher = watcher;
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT') continue;
        const [row, host] = entry.key.split('.');
        if (!row || !host) continue;
        // a value that is not a heartbeat is ignored: it must not end the watch (nor the process)
        let at: Date;
        try {
          at = new Date(entry.json<AgentHeartbeat>().at);
        } catch {
          continue;
        }
        if (Number.isNaN(at.getTime())) continue;
        this.lastSeen.set(host, { row, at });
        this.onBeat?.(row, host);
      }
    })();
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
