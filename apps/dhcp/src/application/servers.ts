import {
  agentCandidates,
  ConflictError,
  NotFoundError,
  chooseNetworkAgent,
  dhcpInterfaceName,
  dhcpNamespace,
  groupBy,
  rowsOfWorkloads,
  serviceMeta,
  type CommandMetadata,
  type DhcpEvent,
  ipamNetworkEvent,
  type Naming,
  type RecordedEvent,
} from '@ncp/contracts';
import { AggregateRepository, ReconcileLoop, type HeartbeatWatcher, type IpamClient, type JetStreamEventStore } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import {
  DHCP_DEVICE_OWNER,
  dhcpDeviceId,
  dhcpServerSettled,
  needsDhcpServer,
  subnetsMissingFromDhcpPort,
  type PortFacts,
  type SubnetFacts,
} from '../domain/dhcp-intent';
import { dhcpServerDecider, type DhcpServerCommand, type DhcpServerState } from '../domain/server.decider';
import { type DhcpPrisma } from '../infrastructure/prisma';
import { type Agent as AgentRow } from '../generated/prisma/client';
import { portFacts, subnetFacts } from './facts';

/**
 * Whether a batch of the projection's events may change where a server should be or its DHCP
 * port: anything but statuses and ports created unbound for something other than DHCP. A
 * port bound somewhere may draw an unplaced server to its row. Every port created used to cost
 * a read of every network, subnet, server, DHCP port and agent.
 */
export function placementMayChange(naming: Naming, events: readonly RecordedEvent[]): boolean {
  return events.some((e) => {
    const event = ipamNetworkEvent(naming, e);
    switch (event?.type) {
      case 'PortStatusChanged':
        return false;
      case 'PortCreated':
        return event.data.deviceOwner === DHCP_DEVICE_OWNER || event.data.bindingHostId !== '';
      default:
        return true;
    }
  });
}

/**
 * Keeps one DHCP server per network that needs one, on a live network agent, with its DHCP
 * port (an IPAM port, device_owner network:dhcp) bound there with an address on every served
 * subnet; and none where no subnet needs it. Level-triggered and idempotent: it compares
 * the projection with what should be and issues only the missing steps, so a crash between
 * two steps is finished by the next pass (a port created but not recorded is adopted).
 */
export class DhcpServers extends ReconcileLoop {
  readonly repo: AggregateRepository<DhcpServerState, DhcpServerCommand, DhcpEvent>;
  /** Networks told in the log that no agent can serve them yet (a deleted one leaves it). */
  private readonly waitingForAgent = new Set<string>();
  private readonly isAlive = (host: string): boolean => this.heartbeats.isAlive(host);

  constructor(
    store: JetStreamEventStore,
    private readonly prisma: DhcpPrisma,
    private readonly ipam: IpamClient,
    private readonly heartbeats: HeartbeatWatcher,
    private readonly catchUp: () => Promise<void>,
    private readonly logger: Logger,
  ) {
    super('DHCP server placement', logger);
    this.repo = new AggregateRepository(store, dhcpServerDecider);
  }

  async reconcile(): Promise<void> {
    await this.catchUp();
    // One read of each table per pass, not one per network: a pass follows every projection move.
    const [networks, subnets, servers, dhcpPorts, agents] = await Promise.all([
      this.prisma.ipamNetwork.findMany(),
      this.prisma.ipamSubnet.findMany(),
      this.prisma.dhcpServer.findMany(),
      this.prisma.ipamPort.findMany({ where: { deviceOwner: DHCP_DEVICE_OWNER } }),
      this.prisma.agent.findMany(),
    ]);
    const subnetsOf = groupBy(subnets.map(subnetFacts), (s) => s.networkId);
    const dhcpPortsOf = groupBy(dhcpPorts.map(portFacts), (p) => p.networkId);
    const serverOf = new Map(servers.map((s) => [s.networkId, s]));
    for (const network of networks) {
      const networkSubnets = subnetsOf.get(network.id) ?? [];
      const ports = dhcpPortsOf.get(network.id) ?? [];
      // A pass follows every projection move: only a network whose server differs from what it
      // should be costs more than this (its aggregate's load, a choice of agent, a command).
      if (dhcpServerSettled(network.id, networkSubnets, serverOf.get(network.id), ports, this.isAlive)) continue;
      try {
        const physicalNetwork = network.networkType === 'flat' || network.networkType === 'vlan' ? network.physicalNetwork : null;
        if (needsDhcpServer(networkSubnets)) await this.ensureServer(network.id, network.projectId, physicalNetwork, networkSubnets, ports, agents);
        else await this.removeServer(network.id, 'no subnet with DHCP', ports);
      } catch (err) {
        this.logger.error({ err, networkId: network.id }, 'DHCP server of the network not reconciled; retrying on the next pass');
      }
    }
    // Servers of deleted networks: IPAM deleted their ports along with the network.
    const networkIds = new Set(networks.map((n) => n.id));
    for (const s of servers) if (!networkIds.has(s.networkId)) await this.execute(s.networkId, { type: 'Unschedule', reason: 'network deleted' });
    for (const id of this.waitingForAgent) if (!networkIds.has(id)) this.waitingForAgent.delete(id);
  }

  /**
   * Neutron's "add network to DHCP agent": the network's server moves to that agent and stays
   * there (pinned), even while it is down, until removed from it, also while no subnet needs
   * DHCP (as Neutron keeps the binding). Its port is re-bound by the next pass.
   * @returns the sequence of the pin's event, for read-your-writes
   * @throws NotFoundError for an unknown agent or network; ConflictError for an agent without
   *   the network role, or one that already hosts the network.
   */
  async pin(agentId: string, networkId: string, meta: CommandMetadata): Promise<number> {
    await this.catchUp();
    const agent = await this.prisma.agent.findUnique({ where: { id: agentId } });
    if (!agent) throw new NotFoundError('DHCP.AgentNotFound', `Agent ${agentId} could not be found.`);
    if (!agent.roles.includes('network')) throw new ConflictError('DHCP.InvalidDHCPAgent', `Agent ${agentId} is not a DHCP agent: it has no network role.`);
    if (!(await this.prisma.ipamNetwork.findUnique({ where: { id: networkId } })))
      throw new NotFoundError('DHCP.NetworkNotFound', `Network ${networkId} could not be found.`);
    const r = await this.repo.execute(networkId, { type: 'Pin', host: agent.host, row: agent.row, agentId, networkId }, meta);
    this.reconcileSoon();
    return r.sequence;
  }

  /** Neutron's "remove network from DHCP agent": the server leaves it and is placed anew. */
  async unpin(agentId: string, networkId: string, meta: CommandMetadata): Promise<number> {
    await this.catchUp();
    const agent = await this.prisma.agent.findUnique({ where: { id: agentId } });
    if (!agent) throw new NotFoundError('DHCP.AgentNotFound', `Agent ${agentId} could not be found.`);
    const r = await this.repo.execute(networkId, { type: 'Unpin', host: agent.host, agentId, networkId }, meta);
    this.reconcileSoon();
    return r.sequence;
  }

  private async execute(networkId: string, command: DhcpServerCommand): Promise<DhcpServerState> {
    await this.repo.execute(networkId, command, serviceMeta('dhcp:placement'));
    return (await this.repo.load(networkId)).state;
  }

  /** `ports`: the network's DHCP-owned ports */
  private async ensureServer(
    networkId: string,
    projectId: string,
    physicalNetwork: string | null,
    subnets: readonly SubnetFacts[],
    ports: readonly PortFacts[],
    agents: readonly AgentRow[],
  ): Promise<void> {
    let server = (await this.repo.load(networkId)).state;
    const alive = server.host !== null && this.heartbeats.isAlive(server.host);
    if (server.host === null || (!alive && !server.pinned)) {
      const chosen = await this.choose(networkId, physicalNetwork, agents);
      if (!chosen) {
        // once per network until it is placed: a pass follows every projection move
        if (server.host === null && !this.waitingForAgent.has(networkId)) {
          this.logger.warn({ networkId, physicalNetwork }, 'no network agent can serve DHCP for the network yet');
        }
        this.waitingForAgent.add(networkId);
        return;
      }
      this.waitingForAgent.delete(networkId);
      if (server.host !== null) this.logger.warn({ networkId, from: server.host, to: chosen.host }, 'DHCP server moves off a dead agent');
      server = await this.execute(networkId, { type: 'Schedule', host: chosen.host, row: chosen.row, replacing: server.host });
    }
    const host = server.host;
    if (host === null) return;
    const meta = serviceMeta('dhcp:placement');
    const port: PortFacts | undefined = ports.find((p) => p.id === server.portId) ?? ports.find((p) => p.deviceId === dhcpDeviceId(networkId));
    const binding = { 'binding:host_id': host, 'binding:profile': { netns: dhcpNamespace(networkId), ifname: dhcpInterfaceName(networkId) } };
    if (!port) {
      const created = await this.ipam.createPort(
        {
          network_id: networkId,
          // Neutron's DHCP port belongs to the network's project, so its members see it
          project_id: projectId,
          name: '',
          device_owner: DHCP_DEVICE_OWNER,
          device_id: dhcpDeviceId(networkId),
          fixed_ips: subnetsMissingFromDhcpPort([], subnets).map((id) => ({ subnet_id: id })),
          ...binding,
        },
        meta,
      );
      await this.execute(networkId, { type: 'AssignPort', portId: created.id });
      return;
    }
    if (server.portId !== port.id) server = await this.execute(networkId, { type: 'AssignPort', portId: port.id });
    const missing = subnetsMissingFromDhcpPort(port.fixedIps, subnets);
    if (port.bindingHostId !== host || missing.length > 0) {
      await this.ipam.updatePort(
        port.id,
        {
          ...binding,
          ...(missing.length > 0
            ? { fixed_ips: [...port.fixedIps.map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })), ...missing.map((id) => ({ subnet_id: id }))] }
            : {}),
        },
        meta,
      );
    }
  }

  private async removeServer(networkId: string, reason: string, ports: readonly PortFacts[]): Promise<void> {
    const server = (await this.repo.load(networkId)).state;
    const meta = serviceMeta('dhcp:placement');
    for (const p of ports) if (p.deviceId === dhcpDeviceId(networkId)) await this.ipam.deletePort(p.id, meta);
    if (server.host !== null || server.portId !== null) await this.execute(networkId, { type: 'Withdraw', reason });
  }

  private async choose(networkId: string, physicalNetwork: string | null, agents: readonly AgentRow[]) {
    const candidates = agentCandidates(agents, this.isAlive);
    // none could take it: no need to weigh the hosts' loads
    if (chooseNetworkAgent(candidates, new Map(), { physicalNetwork, preferredRows: [] }) === null) return null;
    const load = new Map<string, number>();
    for (const g of await this.prisma.dhcpServer.groupBy({ by: ['host'], _count: { _all: true }, where: { host: { not: null } } })) {
      if (g.host) load.set(g.host, g._count._all);
    }
    const bound = await this.prisma.ipamPort.findMany({ where: { networkId, bindingHostId: { not: '' } }, select: { bindingHostId: true } });
    const preferredRows = rowsOfWorkloads(
      agents,
      bound.map((p) => p.bindingHostId),
    );
    return chooseNetworkAgent(candidates, load, { physicalNetwork, preferredRows });
  }
}
