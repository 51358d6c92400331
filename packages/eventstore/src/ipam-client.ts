import { type NatsConnection } from '@nats-io/nats-core';
import {
  fromErrorReply,
  type CommandMetadata,
  type CommandReply,
  type IpamDeletePortInput,
  type IpamNetworkReply,
  type IpamNetworkWire,
  type IpamPortReply,
  type IpamPortWire,
  type IpamSubnetReply,
  type IpamSubnetWire,
  type Naming,
} from '@ncp/contracts';
import { unreachable } from './unreachable';

/**
 * Request/reply to another service's command API (`cmd.<context>.<verb>`): its refusals come
 * back as the same domain errors, no answer at all as a 503.
 */
export class CommandClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly context: string,
    /** How the service is named in a 503's message. */
    private readonly service: string,
    private readonly timeoutMs = 15_000,
  ) {}

  async request<T>(verb: string, input: unknown, meta: CommandMetadata): Promise<T> {
    const reply = await this.nc
      .request(this.naming.commandSubject(this.context, verb), JSON.stringify({ meta, input }), { timeout: this.timeoutMs })
      .catch((e: unknown) => {
        throw unreachable(this.service, verb, e);
      });
    const body = JSON.parse(new TextDecoder().decode(reply.data)) as CommandReply<T>;
    if ('error' in body) throw fromErrorReply(body);
    if (body.result === undefined) throw new Error(`${this.context} ${verb}: empty reply`);
    return body.result;
  }
}

/**
 * Other services change IPAM state (L3 its router and floating IP ports, DHCP its DHCP
 * ports) only through IPAM's command API over NATS request/reply.
 */
export class IpamClient {
  private readonly client: CommandClient;

  constructor(nc: NatsConnection, naming: Naming, timeoutMs = 15_000) {
    this.client = new CommandClient(nc, naming, 'ipam', 'IPAM', timeoutMs);
  }

  private request<T>(verb: string, input: unknown, meta: CommandMetadata): Promise<T> {
    return this.client.request<T>(verb, input, meta);
  }

  async createPort(input: Record<string, unknown>, meta: CommandMetadata): Promise<IpamPortWire> {
    return (await this.request<IpamPortReply>('create_port', input, meta)).port;
  }

  async updatePort(id: string, changes: Record<string, unknown>, meta: CommandMetadata): Promise<IpamPortWire> {
    return (await this.request<IpamPortReply>('update_port', { id, ...changes }, meta)).port;
  }

  /** `force`: a service removing a port it owns (router, floating IP, DHCP ports). */
  async deletePort(id: string, meta: CommandMetadata): Promise<void> {
    const input: IpamDeletePortInput = { id, force: true };
    await this.request('delete_port', input, meta);
  }

  /** A network of the service's (L3's HA networks); `project_id: ''` for one of no project. */
  async createNetwork(input: Record<string, unknown>, meta: CommandMetadata): Promise<IpamNetworkWire> {
    return (await this.request<IpamNetworkReply>('create_network', input, meta)).network;
  }

  async deleteNetwork(id: string, meta: CommandMetadata): Promise<void> {
    await this.request('delete_network', { id }, meta);
  }

  async createSubnet(input: Record<string, unknown>, meta: CommandMetadata): Promise<IpamSubnetWire> {
    return (await this.request<IpamSubnetReply>('create_subnet', input, meta)).subnet;
  }

  async deleteSubnet(id: string, meta: CommandMetadata): Promise<void> {
    await this.request('delete_subnet', { id }, meta);
  }
}
