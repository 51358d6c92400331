import { DESIRED_KINDS, desiredKey, groupBy, parseDesiredKey, ipamNetworkEvent, type Naming, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { type DesiredScope } from '@ncp/eventstore';
import { networkFacts, portFacts, subnetFacts } from '../application/facts';
import {
  ROUTER_INTERFACE_OWNERS,
  dhcpServerIntent,
  raIntents,
  type DhcpSettings,
  type NetworkFacts,
  type RaSettings,
  type SubnetFacts,
} from '../domain/dhcp-intent';
import { type DhcpPrisma } from '../infrastructure/prisma';

/**
 * The partition every router's RAs are computed in: they are made of the router interface
 * ports of every network (and those networks' subnets). No network id looks like it.
 */
export const RA_PARTITION = 'ra';

/** A DHCP server's entry is its network's: it is made of that network's subnets and ports. */
export const dhcpPartitionOf = (key: string): string | undefined => {
  const parsed = parseDesiredKey(key);
  if (parsed?.kind === DESIRED_KINDS.dhcp) return parsed.id;
  return parsed?.kind === DESIRED_KINDS.ra ? RA_PARTITION : undefined;
};

/**
 * The partitions the events may change: the networks whose DHCP servers they may change
 * (IPAM's network aggregate holds its subnets and ports; a DHCP server's aggregate is its
 * network's), and the RAs unless every IPAM event is a status or a port created for something
 * other than a router; or undefined when one of them may change others (an agent's
 * registration moves its row).
 */
export function partitionsChangedBy(naming: Naming, events: readonly RecordedEvent[]): Set<string> | undefined {
  const partitions = new Set<string>();
  for (const e of events) {
    const { context, aggregate, id } = naming.parseEventSubject(e.subject);
    if (context === 'dhcp' && aggregate === 'server') {
      partitions.add(id);
      continue;
    }
    const event = ipamNetworkEvent(naming, e);
    if (!event) return undefined;
    partitions.add(id);
    if (mayChangeRas(event)) partitions.add(RA_PARTITION);
  }
  return partitions;
}

/** An IPAM network event that may change a router's RAs (they show only router interface ports). */
function mayChangeRas(event: NetworkEvent): boolean {
  switch (event.type) {
    case 'PortStatusChanged':
      return false;
    case 'PortCreated':
      return ROUTER_INTERFACE_OWNERS.has(event.data.deviceOwner);
    default:
      return true;
  }
}

/**
 * Every DHCP server's intent (`<row>.<host>.dhcp.<network id>`) of the networks in `scope`, and
 * every router's RAs (`<row>.<host>.ra.<router id>`) when the scope has them, from DHCP's
 * projection.
 */
export async function dhcpAndRaIntents(prisma: DhcpPrisma, dhcp: DhcpSettings, ra: RaSettings, scope: DesiredScope = 'all'): Promise<Map<string, string>> {
  const inScope = scope === 'all' ? {} : { networkId: { in: [...scope] } };
  const withRas = scope === 'all' || scope.has(RA_PARTITION);
  const servers = await prisma.dhcpServer.findMany({ where: { host: { not: null }, portId: { not: null }, ...inScope } });
  // ports created on networks without a server: nothing to compute, nothing more to read
  if (servers.length === 0 && !withRas) return new Map();
  const [networks, subnets, agents, routerPorts] = await Promise.all([
    prisma.ipamNetwork.findMany(),
    prisma.ipamSubnet.findMany(),
    prisma.agent.findMany(),
    withRas ? prisma.ipamPort.findMany({ where: { deviceOwner: { in: [...ROUTER_INTERFACE_OWNERS] } }, orderBy: { id: 'asc' } }) : [],
  ]);
  // only the ports of networks with a placed server: a server's hosts are its network's ports
  const ports = await prisma.ipamPort.findMany({ where: { networkId: { in: servers.map((s) => s.networkId) } }, orderBy: { id: 'asc' } });
  const networkById = new Map<string, NetworkFacts>(networks.map((n) => [n.id, networkFacts(n)]));
  const subnetById = new Map<string, SubnetFacts>(subnets.map((s) => [s.id, subnetFacts(s)]));
  const subnetsOf = groupBy(subnetById.values(), (s) => s.networkId);
  const portsOf = groupBy(ports.map(portFacts), (p) => p.networkId);
  const rowOf = new Map(agents.map((a) => [a.host, a.row]));

  const wanted = new Map<string, string>();
  for (const server of servers) {
    const network = networkById.get(server.networkId);
    const dhcpPort = portsOf.get(server.networkId)?.find((p) => p.id === server.portId);
    // The port's binding is what the L2 driver plugs: wait until it points at the server's host.
    if (!network || !dhcpPort || server.host === null || server.row === null || dhcpPort.bindingHostId !== server.host) continue;
    const intent = dhcpServerIntent(network, subnetsOf.get(network.id) ?? [], portsOf.get(network.id) ?? [], dhcpPort, dhcp);
    wanted.set(desiredKey(server.row, server.host, DESIRED_KINDS.dhcp, network.id), JSON.stringify(intent));
  }
  for (const { host, intent } of raIntents(routerPorts.map(portFacts), subnetById, networkById, ra)) {
    const row = rowOf.get(host);
    if (row !== undefined) wanted.set(desiredKey(row, host, DESIRED_KINDS.ra, intent.routerId), JSON.stringify(intent));
  }
  return wanted;
}
