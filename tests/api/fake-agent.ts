import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { randomUUID } from 'node:crypto';
import { agentIdOf } from '@ncp/contracts';
import { readBucket } from '@ncp/eventstore';

/**
 * An agent that exists only on the bus: it registers and heartbeats like a real one, so
 * the control plane's placement and desired state can be tested without a data plane.
 */
export class FakeAgent {
  private timer: NodeJS.Timeout | undefined;
  /** the heartbeat under way, if any: `stop` lets it finish before closing the connection */
  private beating: Promise<unknown> | undefined;
  private constructor(
    private readonly nc: Awaited<ReturnType<typeof connect>>,
    readonly row: string,
    readonly host: string,
    private readonly prefix: string,
    private readonly id: string,
  ) {}

  static async start(
    natsUrl: string,
    prefix: string,
    opts: { row: string; host: string; roles: string[]; physnets: Record<string, string>; tunnelIp?: string },
  ): Promise<FakeAgent> {
    const nc = await connect({ servers: natsUrl.replace('nats://', '') });
    const id = agentIdOf(opts.row, opts.host);
    const agent = new FakeAgent(nc, opts.row, opts.host, prefix, id);
    await agent.record('AgentRegistered', {
      row: opts.row,
      host: opts.host,
      roles: opts.roles,
      tunnelIp: opts.tunnelIp ?? '192.0.2.1',
      physnets: opts.physnets,
      version: 'fake',
      startedAt: new Date().toISOString(),
    });
    const kv = await new Kvm(nc).create(`ncp_agents_${prefix}`, { history: 1 });
    const beat = () => kv.put(`${opts.row}.${opts.host}`, JSON.stringify({ agentId: id, at: new Date().toISOString() }));
    await beat();
    agent.timer = setInterval(() => {
      agent.beating = beat();
    }, 1000);
    return agent;
  }

  /** Records a status report as a real agent does after a reconcile. */
  async report(resources: Record<string, unknown>[]): Promise<void> {
    await this.record('ResourceStatusReported', { host: this.host, resources });
  }

  private async record(type: string, data: Record<string, unknown>): Promise<void> {
    const envelope = {
      id: randomUUID(),
      type,
      schemaVersion: 1,
      aggregate: 'agent',
      aggregateId: this.id,
      occurredAt: new Date().toISOString(),
      correlationId: 'fake-agent',
      causationId: null,
      projectId: '',
      actor: 'fake-agent',
      data,
    };
    await jetstream(this.nc).publish(`${this.prefix}.ev.agent.agent.${this.id}`, JSON.stringify(envelope), { msgID: envelope.id });
  }

  /** The desired state the control plane published for this host. */
  async desired(): Promise<Map<string, unknown>> {
    const entries = await readBucket(this.nc, `ncp_desired_${this.prefix}`, `${this.row}.${this.host}.>`);
    return new Map([...entries].map(([key, value]) => [key, JSON.parse(value) as unknown]));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // a beat under way when the connection closes would reject with nobody to hear it
    await this.beating;
    await this.nc.close();
  }
}
