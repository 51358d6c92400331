import { type NatsConnection } from '@nats-io/nats-core';
import { fromErrorReply, type CommandMetadata, type ErrorReply, type Naming } from '@ncp/contracts';
import { unreachable } from './unreachable';

/** An IPAM port as IPAM's command API returns it (Neutron's wire shape). */
export interface IpamPortWire {
  readonly id: string;
  readonly network_id: string;
  readonly mac_address: string;
  readonly fixed_ips: readonly { subnet_id: string; ip_address: string }[];
  readonly device_owner: string;
  readonly device_id: string;
  readonly 'binding:host_id'?: string;
}

/**
 * Other services change IPAM state (L3 its router and floating IP ports, DHCP its DHCP
 * ports) only through IPAM's command API over NATS request/reply; IPAM's refusals come back
 * as the same domain errors.
 */
export class IpamClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly timeoutMs = 15_000,
  ) {}

  private async request<T>(verb: string, input: unknown, meta: CommandMetadata): Promise<T> {
    const reply = await this.nc
      .request(this.naming.commandSubject('ipam', verb), JSON.stringify({ meta, input }), { timeout: this.timeoutMs })
      .catch((e: unknown) => {
        throw unreachable('IPAM', verb, e);
      });
    const body = JSON.parse(new TextDecoder().decode(reply.data)) as { result?: T } & Partial<ErrorReply>;
    if (body.error) throw fromErrorReply(body as ErrorReply);
    if (body.result === undefined) throw new Error(`ipam ${verb}: empty reply`);
    return body.result;
  }

  async createPort(input: Record<string, unknown>, meta: CommandMetadata): Promise<IpamPortWire> {
    return (await this.request<{ port: IpamPortWire }>('create_port', input, meta)).port;
  }

  async updatePort(id: string, changes: Record<string, unknown>, meta: CommandMetadata): Promise<IpamPortWire> {
    return (await this.request<{ port: IpamPortWire }>('update_port', { id, ...changes }, meta)).port;
  }

  /** `force`: a service removing a port it owns (router, floating IP, DHCP ports). */
  async deletePort(id: string, meta: CommandMetadata): Promise<void> {
    await this.request('delete_port', { id, force: true }, meta);
  }
}
