import { type NeutronClient, type Resource } from '../api/client';

/** An IPv6 subnet whose RAs and addresses follow the same mode, as Neutron pairs them. */
export function ipv6Subnet(
  api: NeutronClient,
  networkId: string,
  cidr: string,
  mode: 'slaac' | 'dhcpv6-stateless' | 'dhcpv6-stateful',
  extra: Record<string, unknown> = {},
): Promise<Resource> {
  return api.create('subnets', 'subnet', { network_id: networkId, ip_version: 6, cidr, ipv6_ra_mode: mode, ipv6_address_mode: mode, ...extra });
}

/**
 * The public side of the reference scenario (no NAT within an address scope), named as it names
 * it (`Public-Net`, and `Public-Net6` for IPv6): a shared address scope with its subnet pool, and
 * a shared flat external network on `physnet` whose subnet (no DHCP) comes from that pool.
 */
export async function referencePublicNetwork(
  api: NeutronClient,
  ipVersion: 4 | 6,
  physnet: string,
  pool: { prefixes: string[]; default_prefixlen: number },
): Promise<{ pool: Resource; network: Resource; subnet: Resource }> {
  const v6 = ipVersion === 6 ? '6' : '';
  const scoped = await api.createScopedPool(
    { name: `test-no-nat${ipVersion === 6 ? '-6' : ''}`, ip_version: ipVersion },
    { name: `nonat-pool-ip${ipVersion}`, ...pool },
  );
  const network = await api.createSharedExternal(`Public-Net${v6}`, { 'provider:network_type': 'flat', 'provider:physical_network': physnet });
  const subnet = await api.create('subnets', 'subnet', {
    name: `Public-Subnet${v6}`,
    network_id: network.id,
    ip_version: ipVersion,
    subnetpool_id: scoped.pool.id,
    enable_dhcp: false,
  });
  return { pool: scoped.pool, network, subnet };
}
