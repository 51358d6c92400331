import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type NatsConnection } from '@nats-io/nats-core';
import {
  UnavailableError,
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
import { COMMAND_IN_PROGRESS } from './command-responder';
import { unreachable } from './unreachable';

const RETRY_PAUSE_MS = 250;

/**
 * Request/reply to another service's command API (`cmd.<context>.<verb>`): its refusals come
 * back as the same domain errors, no answer at all as a 503.
 *
 * Each command carries an idempotency key, and one that got no answer (its replica or its NATS
 * server died, the reply was lost) is sent again with the same key, `attempts` times in all:
 * it may have been applied, and the service then answers with the reply it gave the first time
 * rather than applying it twice. Only then is it a 503.
 */
export class CommandClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly context: string,
    /** How the service is named in a 503's message. */
    private readonly service: string,
    private readonly timeoutMs = 15_000,
    private readonly attempts = 3,
  ) {}

  async request<T>(verb: string, input: unknown, meta: CommandMetadata): Promise<T> {
    const request = JSON.stringify({ meta, input, idempotencyKey: randomUUID() });
    for (let attempt = 1; ; attempt++) {
      // a moment for the replica or NATS server that failed to be passed over
      if (attempt > 1) await sleep(RETRY_PAUSE_MS * (attempt - 1));
      let body: CommandReply<T>;
      try {
        const reply = await this.nc.request(this.naming.commandSubject(this.context, verb), request, { timeout: this.timeoutMs });
        body = JSON.parse(new TextDecoder().decode(reply.data)) as CommandReply<T>;
      } catch (e) {
        const error = unreachable(this.service, verb, e);
        if (attempt < this.attempts && error instanceof UnavailableError) continue;
        throw error;
      }
      if ('error' in body) {
        const error = fromErrorReply(body);
        // another replica still applies it: ask again for its reply
        if (attempt < this.attempts && error.code.endsWith(`.${COMMAND_IN_PROGRESS}`)) continue;
        throw error;
      }
      if (body.result === undefined) throw new Error(`${this.context} ${verb}: empty reply`);
      return body.result;
    }
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
