import { netmaskOf, parseCidr } from '@ncp/netaddr';

/**
 * What an instance reads from the metadata service, in the OpenStack and EC2 formats: pure
 * functions of the instance and its ports, subnets and floating IPs.
 */

export interface InstanceFacts {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly hostname: string;
  readonly availabilityZone: string;
  readonly publicKeys: readonly { name: string; type: string; data: string }[];
  /** base64 */
  readonly userData: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly vendorData: Readonly<Record<string, unknown>>;
}

export interface PortFacts {
  readonly id: string;
  readonly networkId: string;
  readonly macAddress: string;
  readonly mtu: number;
  readonly fixedIps: readonly { subnetId: string; ipAddress: string }[];
}

export interface SubnetFacts {
  readonly id: string;
  readonly ipVersion: number;
  readonly cidr: string;
  readonly gatewayIp: string | null;
  readonly enableDhcp: boolean;
  readonly ipv6AddressMode: string | null;
  readonly dnsNameservers: readonly string[];
  readonly hostRoutes: readonly { destination: string; nexthop: string }[];
}

export interface FloatingIpFacts {
  readonly portId: string;
  readonly fixedIpAddress: string;
  readonly floatingIpAddress: string;
}

/** The OpenStack metadata versions we serve (Nova's list), oldest first. */
export const OPENSTACK_VERSIONS = [
  '2012-08-10',
  '2013-04-04',
  '2013-10-17',
  '2015-10-15',
  '2016-06-30',
  '2016-10-06',
  '2017-02-22',
  '2018-08-27',
  'latest',
] as const;

/** Nova's meta_data.json. `randomSeed`: 512 random bytes, base64 (fresh per request, as Nova). */
export function metaDataJson(instance: InstanceFacts, randomSeed: string): Record<string, unknown> {
  return {
    uuid: instance.id,
    name: instance.name,
    hostname: instance.hostname,
    launch_index: 0,
    availability_zone: instance.availabilityZone,
    project_id: instance.projectId,
    meta: instance.metadata,
    public_keys: Object.fromEntries(instance.publicKeys.map((k) => [k.name, k.data])),
    keys: instance.publicKeys.map((k) => ({ name: k.name, type: k.type, data: k.data })),
    random_seed: randomSeed,
    devices: [],
  };
}

/** The network_data.json type of an address on a subnet (what cloud-init configures). */
export function networkType(subnet: SubnetFacts): string {
  if (subnet.ipVersion === 4) return subnet.enableDhcp ? 'ipv4_dhcp' : 'ipv4';
  switch (subnet.ipv6AddressMode) {
    case 'slaac':
      return 'ipv6_slaac';
    case 'dhcpv6-stateless':
      return 'ipv6_dhcpv6-stateless';
    case 'dhcpv6-stateful':
      return 'ipv6_dhcpv6-stateful';
    default:
      return 'ipv6';
  }
}

const netmask = (cidr: string) => {
  const c = parseCidr(cidr);
  return netmaskOf(c.version, c.prefixLength);
};

function route(destination: string, gateway: string): Record<string, string> {
  const [network = ''] = destination.split('/');
  return { network, netmask: netmask(destination), gateway };
}

/**
 * Nova's network_data.json: one link per port (`tap` + 11 characters of the port id, as Nova
 * names them), one network per fixed address with its type, netmask, routes (default via the
 * subnet's gateway, then the host routes) and DNS servers, and every DNS server as a service.
 */
export function networkDataJson(ports: readonly PortFacts[], subnets: ReadonlyMap<string, SubnetFacts>): Record<string, unknown> {
  const links = ports.map((p) => ({ id: `tap${p.id.slice(0, 11)}`, vif_id: p.id, type: 'phy', mtu: p.mtu, ethernet_mac_address: p.macAddress }));
  const networks: Record<string, unknown>[] = [];
  const dns = new Set<string>();
  ports.forEach((p, i) => {
    for (const f of p.fixedIps) {
      const subnet = subnets.get(f.subnetId);
      if (!subnet) continue;
      const defaultRoute = subnet.ipVersion === 4 ? '0.0.0.0/0' : '::/0';
      const routes = [...(subnet.gatewayIp ? [route(defaultRoute, subnet.gatewayIp)] : []), ...subnet.hostRoutes.map((r) => route(r.destination, r.nexthop))];
      for (const d of subnet.dnsNameservers) dns.add(d);
      networks.push({
        id: `network${networks.length}`,
        link: links[i]?.id,
        type: networkType(subnet),
        ip_address: f.ipAddress,
        netmask: netmask(subnet.cidr),
        routes,
        network_id: p.networkId,
        services: subnet.dnsNameservers.map((address) => ({ type: 'dns', address })),
      });
    }
  });
  return { links, networks, services: [...dns].map((address) => ({ type: 'dns', address })) };
}

/** A node of the EC2 tree: a leaf's text, or a directory of named children. */
export type Ec2Node = string | { readonly [name: string]: Ec2Node };

/**
 * The EC2 `meta-data/` tree of an instance as seen from `port` (the interface the request came
 * from; EC2 calls it the primary one): instance-id, hostname, local-ipv4, public-ipv4 (the
 * floating IP of that address), mac, public-keys, placement and every interface by MAC.
 */
export function ec2MetaData(
  instance: InstanceFacts,
  port: PortFacts,
  ports: readonly PortFacts[],
  subnets: ReadonlyMap<string, SubnetFacts>,
  floatingIps: readonly FloatingIpFacts[],
): Ec2Node {
  const v4 = (p: PortFacts) => p.fixedIps.filter((f) => subnets.get(f.subnetId)?.ipVersion === 4);
  const v6 = (p: PortFacts) => p.fixedIps.filter((f) => subnets.get(f.subnetId)?.ipVersion === 6);
  const publicOf = (p: PortFacts) => floatingIps.filter((f) => f.portId === p.id).map((f) => f.floatingIpAddress);
  const localIpv4 = v4(port)[0]?.ipAddress;
  const publicIpv4 = publicOf(port)[0];
  const macs: Record<string, Ec2Node> = {};
  ports.forEach((p, i) => {
    const entry: Record<string, Ec2Node> = { 'device-number': String(i), 'interface-id': p.id, mac: p.macAddress };
    if (v4(p).length > 0) {
      entry['local-ipv4s'] = v4(p)
        .map((f) => f.ipAddress)
        .join('\n');
      entry['subnet-ipv4-cidr-block'] = subnets.get(v4(p)[0]?.subnetId ?? '')?.cidr ?? '';
    }
    if (v6(p).length > 0) {
      entry.ipv6s = v6(p)
        .map((f) => f.ipAddress)
        .join('\n');
      entry['subnet-ipv6-cidr-blocks'] = [...new Set(v6(p).map((f) => subnets.get(f.subnetId)?.cidr ?? ''))].join('\n');
    }
    if (publicOf(p).length > 0) entry['public-ipv4s'] = publicOf(p).join('\n');
    macs[p.macAddress] = entry;
  });
  const tree: Record<string, Ec2Node> = {
    'instance-id': instance.id,
    hostname: instance.hostname,
    'local-hostname': instance.hostname,
    mac: port.macAddress,
    placement: { 'availability-zone': instance.availabilityZone },
    network: { interfaces: { macs } },
  };
  if (localIpv4 !== undefined) tree['local-ipv4'] = localIpv4;
  if (publicIpv4 !== undefined) tree['public-ipv4'] = publicIpv4;
  if (instance.publicKeys.length > 0) {
    tree['public-keys'] = Object.fromEntries(instance.publicKeys.map((k, i) => [String(i), { 'openssh-key': k.data }]));
  }
  return tree;
}

/**
 * EC2's rendering of a path in a tree: a leaf is its text; a directory lists its children,
 * one per line, a subdirectory with a trailing `/` (public-keys lists `0=<name>`, as EC2
 * does). Null when there is no such node.
 */
export function renderEc2(tree: Ec2Node, segments: readonly string[], keyNames: readonly string[] = []): string | null {
  let node: Ec2Node | undefined = tree;
  for (const s of segments.filter((x) => x !== '')) {
    if (typeof node === 'string' || node === undefined) return null;
    node = node[s];
  }
  if (node === undefined) return null;
  if (typeof node === 'string') return node;
  const isKeys = segments.filter((x) => x !== '').join('/') === 'public-keys';
  return Object.entries(node)
    .map(([name, child]) => (isKeys ? `${name}=${keyNames[Number(name)] ?? ''}` : typeof child === 'string' ? name : `${name}/`))
    .join('\n');
}
