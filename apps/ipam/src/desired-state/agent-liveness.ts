import { Kvm, type KV } from '@nats-io/kv';
import { AGENT_HEARTBEAT_BUCKET, type AgentHeartbeat, type Naming } from '@ncp/contracts';
import { type NatsConnection } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type IpamPrisma } from '../infrastructure/prisma';
import { serviceMeta, type IpamWriteModel } from '../application/write-model';

/**
 * Which agents are alive, from their heartbeats in the KV bucket, and the consequence of
 * one dying: its ports go DOWN (event-sourced, through their networks).
 */
export class AgentLiveness {
  private readonly lastSeen = new Map<string, Date>();
  /** Hosts whose ports we marked DOWN: when they come back they must report afresh. */
  private readonly markedDown = new Map<string, string>();
  private watcher: AsyncIterable<unknown> & { stop(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly prisma: IpamPrisma,
    private readonly model: IpamWriteModel,
    private readonly downAfterSeconds: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const kv: KV = await new Kvm(this.nc).create(this.naming.bucket(AGENT_HEARTBEAT_BUCKET), { history: 1 });
    const watcher = await kv.watch();
    this.watcher = watcher;
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== 'PUT') continue;
        const [row, host] = entry.key.split('.');
        if (!row || !host) continue;
        this.lastSeen.set(host, new Date(entry.json<AgentHeartbeat>().at));
        if (this.markedDown.has(host) && this.isAlive(host)) {
          this.markedDown.delete(host);
          this.nc.publish(this.naming.agentControlSubject(row, host, 'resync'));
        }
      }
    })();
    this.timer = setInterval(() => {
      this.markDeadAgentsPorts(new Date()).catch((err: unknown) => this.logger.error({ err }, 'liveness check failed'));
    }, 2000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.watcher?.stop();
  }

  heartbeat(host: string): Date | undefined {
    return this.lastSeen.get(host);
  }

  isAlive(host: string, now = new Date()): boolean {
    const seen = this.lastSeen.get(host);
    return seen !== undefined && now.getTime() - seen.getTime() <= this.downAfterSeconds * 1000;
  }

  /** Ports still shown up on a host whose agent stopped answering are DOWN. */
  async markDeadAgentsPorts(now: Date): Promise<number> {
    const agents = await this.prisma.agent.findMany({ select: { host: true, row: true } });
    const deadAgents = agents.filter((a) => !this.isAlive(a.host, now));
    const dead = deadAgents.map((a) => a.host);
    if (dead.length === 0) return 0;
    const ports = await this.prisma.port.findMany({
      where: { bindingHostId: { in: dead }, status: { not: 'DOWN' } },
      select: { id: true, networkId: true, bindingHostId: true },
    });
    const meta = serviceMeta('ipam:agent-liveness', now);
    for (const p of ports) {
      await this.model.networks.execute(
        p.networkId,
        { type: 'SetPortStatus', id: p.networkId, portId: p.id, host: p.bindingHostId, status: 'DOWN', reason: `agent on ${p.bindingHostId} is not alive` },
        meta,
      );
    }
    for (const a of deadAgents) if (ports.some((p) => p.bindingHostId === a.host)) this.markedDown.set(a.host, a.row);
    if (ports.length > 0) this.logger.warn({ hosts: dead, ports: ports.length }, 'ports of dead agents marked DOWN');
    return ports.length;
  }
}
