import { type Naming } from '@ncp/contracts';
import { HeartbeatWatcher, type NatsConnection } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type IpamPrisma } from '../infrastructure/prisma';
import { serviceMeta } from '@ncp/contracts';
import { type IpamWriteModel } from '../application/write-model';

/**
 * Which agents are alive, from their heartbeats, and the consequence of one dying: its
 * ports go DOWN (event-sourced, through their networks). When it is back, it is asked to
 * report afresh.
 */
export class AgentLiveness {
  private readonly heartbeats: HeartbeatWatcher;
  /** Hosts whose ports we marked DOWN: when they come back they must report afresh. */
  private readonly markedDown = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly prisma: IpamPrisma,
    private readonly model: IpamWriteModel,
    downAfterSeconds: number,
    private readonly logger: Logger,
  ) {
    this.heartbeats = new HeartbeatWatcher(nc, naming, downAfterSeconds, (row, host) => {
      if (this.markedDown.has(host) && this.heartbeats.isAlive(host)) {
        this.markedDown.delete(host);
        this.nc.publish(this.naming.agentControlSubject(row, host, 'resync'));
      }
    });
  }

  async start(): Promise<void> {
    await this.heartbeats.start();
    this.timer = setInterval(() => {
      this.markDeadAgentsPorts(new Date()).catch((err: unknown) => this.logger.error({ err }, 'liveness check failed'));
    }, 2000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.heartbeats.stop();
  }

  heartbeat(host: string): Date | undefined {
    return this.heartbeats.heartbeat(host);
  }

  isAlive(host: string, now = new Date()): boolean {
    return this.heartbeats.isAlive(host, now);
  }

  /** Ports still shown up on a host whose agent stopped answering are DOWN. */
  async markDeadAgentsPorts(now: Date): Promise<number> {
    const agents = await this.prisma.agent.findMany({ select: { host: true } });
    const dead = agents.map((a) => a.host).filter((h) => !this.isAlive(h, now));
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
      this.markedDown.add(p.bindingHostId);
    }
    if (ports.length > 0) this.logger.warn({ hosts: dead, ports: ports.length }, 'ports of dead agents marked DOWN');
    return ports.length;
  }
}
