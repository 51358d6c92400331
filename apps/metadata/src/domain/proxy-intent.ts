import { dhcpInterfaceName, dhcpNamespace, routerInterfaceName, routerNamespace, type MetadataProxyIntent } from '@ncp/dataplane';

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
      .map((p) => ({ portId: p.id, instanceId: p.deviceId, projectId: p.projectId, mac: p.macAddress.toLowerCase(), addresses: p.fixedIps.map((f) => f.ipAddress) }))
      .sort((a, b) => a.portId.localeCompare(b.portId));
  const proxies: PlacedProxy[] = [];
  const routed = new Set<string>();
  for (const r of routers) {
    for (const i of r.interfaces) routed.add(i.networkId);
    if (r.host === null || r.row === null || r.interfaces.length === 0) continue;
    proxies.push({
      host: r.host,
      row: r.row,
      intent: {
        id: r.id,
        kind: 'router',
        namespace: routerNamespace(r.id),
        interfaces: r.interfaces.map((i) => routerInterfaceName('internal', i.portId)).sort(),
        endpoints: endpointsOn(new Set(r.interfaces.map((i) => i.networkId))),
      },
    });
  }
  for (const d of dhcpServers) {
    if (d.host === null || d.row === null || routed.has(d.networkId)) continue;
    proxies.push({
      host: d.host,
      row: d.row,
      intent: { id: d.networkId, kind: 'dhcp', namespace: dhcpNamespace(d.networkId), interfaces: [dhcpInterfaceName(d.networkId)], endpoints: endpointsOn(new Set([d.networkId])) },
    });
  }
  return proxies;
}
