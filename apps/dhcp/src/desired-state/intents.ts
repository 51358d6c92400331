import { DESIRED_KINDS, desiredKey, groupBy, parseDesiredKey, type Naming, type RecordedEvent } from '@ncp/contracts';
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

/** A DHCP server's entry is its network's: it is made of that network's subnets and ports. RAs are recomputed every pass. */
export const dhcpPartitionOf = (key: string): string | undefined => {
  const parsed = parseDesiredKey(key);
  return parsed?.kind === DESIRED_KINDS.dhcp ? parsed.id : undefined;
};

/**
 * The networks whose DHCP servers the events may change (IPAM's network aggregate holds its
 * subnets and ports; a DHCP server's aggregate is its network's), or undefined when one of
 * them may change others (an agent's registration moves its row).
 */
export function networksChangedBy(naming: Naming, events: readonly RecordedEvent[]): Set<string> | undefined {
  const networks = new Set<string>();
  for (const e of events) {
    const { context, aggregate, id } = naming.parseEventSubject(e.subject);
    if ((context === 'ipam' && aggregate === 'network') || (context === 'dhcp' && aggregate === 'server')) networks.add(id);
    else return undefined;
  }
  return networks;
}

/**
 * Every DHCP server's intent (`<row>.<host>.dhcp.<network id>`) of the networks in `scope`, and
 * every router's RAs (`<row>.<host>.ra.<router id>`), from DHCP's projection.
 */
export async function dhcpAndRaIntents(prisma: DhcpPrisma, dhcp: DhcpSettings, ra: RaSettings, scope: DesiredScope = 'all'): Promise<Map<string, string>> {
  const inScope = scope === 'all' ? {} : { networkId: { in: [...scope] } };
  const [networks, subnets, servers, agents, routerPorts] = await Promise.all([
    prisma.ipamNetwork.findMany(),
    prisma.ipamSubnet.findMany(),
    prisma.dhcpServer.findMany({ where: { host: { not: null }, portId: { not: null }, ...inScope } }),
    prisma.agent.findMany(),
    prisma.ipamPort.findMany({ where: { deviceOwner: { in: [...ROUTER_INTERFACE_OWNERS] } }, orderBy: { id: 'asc' } }),
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
