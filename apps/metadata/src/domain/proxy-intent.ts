import { dhcpInterfaceName, dhcpNamespace, routerInterfaceName, routerNamespace, type MetadataProxyIntent } from '@ncp/contracts';

export interface EndpointPort {
  readonly id: string;
  readonly networkId: string;
  readonly projectId: string;
  readonly macAddress: string;
  readonly deviceId: string;
  readonly fixedIps: readonly { ipAddress: string }[];
}

export interface PlacedRouter {
  readonly id: string;
  readonly host: string | null;
  readonly row: string | null;
  /** its interfaces: the port and the network it is on */
  readonly interfaces: readonly { portId: string; networkId: string }[];
}

export interface PlacedDhcpServer {
  readonly networkId: string;
  readonly host: string | null;
  readonly row: string | null;
}

export interface PlacedProxy {
  readonly host: string;
  readonly row: string;
  readonly intent: MetadataProxyIntent;
}

/**
 * Whether a port is where an instance runs: its `device_id` names the instance and it belongs
 * to the instance's project. A `device_id` is whatever a port's owner wrote, so an instance
 * registered by another project under that id (to have its user data served to the port's
 * workload) is no match: ignored, as if not registered. `instances`: id -> project.
 */
export function portOfInstance(port: Pick<EndpointPort, 'deviceId' | 'projectId'>, instances: ReadonlyMap<string, string>): boolean {
  const project = instances.get(port.deviceId);
  return project !== undefined && project === port.projectId;
}

/**
 * Where metadata is answered: in every placed router's namespace, for the instances on the
 * networks it has interfaces on; and on a network that no router is attached to, in its DHCP
 * server's namespace (Neutron's isolated metadata). Only ports of a registered instance
 * (`portOfInstance`) are endpoints. Pure.
 *
 * fe80::a9fe:a9fe is on-link, so it goes on one interface per network (`interfaces`): with two
 * holders on a segment (a router and the DHCP port, two routers, or a router's IPv4 and IPv6
 * ports) neighbour discovery would resolve it to either, at random. On a routed network the
 * holder is the placed router with the lowest id, on its port with the lowest id there; on an
 * isolated one the DHCP port. 169.254.169.254 is routed (through the router, or the DHCP
 * port by the lease's host route), so every proxy has it.
 */
export function metadataProxies(
  routers: readonly PlacedRouter[],
  dhcpServers: readonly PlacedDhcpServer[],
  ports: readonly EndpointPort[],
  instances: ReadonlyMap<string, string>,
): PlacedProxy[] {
  const endpointsOn = (networkIds: ReadonlySet<string>) =>
    ports
      .filter((p) => networkIds.has(p.networkId) && portOfInstance(p, instances))
      .map((p) => ({
        portId: p.id,
        instanceId: p.deviceId,
        projectId: p.projectId,
        mac: p.macAddress.toLowerCase(),
        addresses: p.fixedIps.map((f) => f.ipAddress),
      }))
      .sort((a, b) => a.portId.localeCompare(b.portId));
  const proxies: PlacedProxy[] = [];
  const routed = new Set(routers.flatMap((r) => r.interfaces.map((i) => i.networkId)));
  const placed = routers.filter((r) => r.host !== null && r.row !== null && r.interfaces.length > 0).sort((a, b) => a.id.localeCompare(b.id));
  /** network id -> the port that holds fe80::a9fe:a9fe on it */
  const holders = new Map<string, string>();
  for (const r of placed) {
    for (const i of [...r.interfaces].sort((a, b) => a.portId.localeCompare(b.portId))) if (!holders.has(i.networkId)) holders.set(i.networkId, i.portId);
  }
  for (const r of placed) {
    if (r.host === null || r.row === null) continue;
    proxies.push({
      host: r.host,
      row: r.row,
      intent: {
        id: r.id,
        kind: 'router',
        namespace: routerNamespace(r.id),
        interfaces: r.interfaces
          .filter((i) => holders.get(i.networkId) === i.portId)
          .map((i) => routerInterfaceName('internal', i.portId))
          .sort(),
        endpoints: endpointsOn(new Set(r.interfaces.map((i) => i.networkId))),
      },
    });
  }
  for (const d of dhcpServers) {
    if (d.host === null || d.row === null || routed.has(d.networkId)) continue;
    proxies.push({
      host: d.host,
      row: d.row,
      intent: {
        id: d.networkId,
        kind: 'dhcp',
        namespace: dhcpNamespace(d.networkId),
        interfaces: [dhcpInterfaceName(d.networkId)],
        endpoints: endpointsOn(new Set([d.networkId])),
      },
    });
  }
  return proxies;
}
