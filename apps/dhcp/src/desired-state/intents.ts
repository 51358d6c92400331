import { DESIRED_KINDS, desiredKey, groupBy } from '@ncp/contracts';
import { networkFacts, portFacts, subnetFacts } from '../application/facts';
import { dhcpServerIntent, raIntents, type DhcpSettings, type NetworkFacts, type RaSettings, type SubnetFacts } from '../domain/dhcp-intent';
import { type DhcpPrisma } from '../infrastructure/prisma';

/**
 * Every DHCP server's intent (`<row>.<host>.dhcp.<network id>`) and every router's RAs
 * (`<row>.<host>.ra.<router id>`), from DHCP's projection.
 */
export async function dhcpAndRaIntents(prisma: DhcpPrisma, dhcp: DhcpSettings, ra: RaSettings): Promise<Map<string, string>> {
  const [networks, subnets, ports, servers, agents] = await Promise.all([
    prisma.ipamNetwork.findMany(),
    prisma.ipamSubnet.findMany(),
    prisma.ipamPort.findMany({ orderBy: { id: 'asc' } }),
    prisma.dhcpServer.findMany({ where: { host: { not: null }, portId: { not: null } } }),
    prisma.agent.findMany(),
  ]);
  const networkById = new Map<string, NetworkFacts>(networks.map((n) => [n.id, networkFacts(n)]));
  const subnetById = new Map<string, SubnetFacts>(subnets.map((s) => [s.id, subnetFacts(s)]));
  const subnetsOf = groupBy(subnetById.values(), (s) => s.networkId);
  const allPorts = ports.map(portFacts);
  const portsOf = groupBy(allPorts, (p) => p.networkId);
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
  for (const { host, intent } of raIntents(allPorts, subnetById, networkById, ra)) {
    const row = rowOf.get(host);
    if (row !== undefined) wanted.set(desiredKey(row, host, DESIRED_KINDS.ra, intent.routerId), JSON.stringify(intent));
  }
  return wanted;
}
