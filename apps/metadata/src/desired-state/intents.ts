import { DESIRED_KINDS, desiredKey, groupBy, ipamNetworkEvent, type Naming, type RecordedEvent } from '@ncp/contracts';
import { metadataProxies } from '../domain/proxy-intent';
import { type MetadataPrisma } from '../infrastructure/prisma';

/** Every metadata proxy (`<row>.<host>.meta.<router or network id>`), from the metadata projection. */
export async function metadataProxyIntents(prisma: MetadataPrisma): Promise<Map<string, string>> {
  const [routers, interfaces, dhcpServers, instances] = await Promise.all([
    prisma.router.findMany(),
    prisma.routerInterface.findMany(),
    prisma.dhcpServer.findMany(),
    prisma.instance.findMany({ select: { id: true, projectId: true } }),
  ]);
  const ports = await prisma.ipamPort.findMany({ where: { deviceId: { in: instances.map((i) => i.id) } } });
  const interfacesOf = groupBy(interfaces, (i) => i.routerId);
  const proxies = metadataProxies(
    routers.map((r) => ({ ...r, interfaces: (interfacesOf.get(r.id) ?? []).map((i) => ({ portId: i.portId, networkId: i.networkId })) })),
    dhcpServers,
    ports.map((p) => ({ ...p, fixedIps: p.fixedIps as { ipAddress: string }[] })),
    new Map(instances.map((i) => [i.id, i.projectId])),
  );
  return new Map(proxies.map((p) => [desiredKey(p.row, p.host, DESIRED_KINDS.metadata, p.intent.id), JSON.stringify(p.intent)]));
}

/**
 * Whether a batch of the projection's events may change a proxy: anything but the floating IPs
 * (an instance's metadata shows them, no proxy does) and the ports no proxy shows (no device
 * yet, a status, a binding). A port created or bound ran a pass of every proxy of the cloud.
 */
export function proxiesMayChange(naming: Naming, events: readonly RecordedEvent[]): boolean {
  return events.some((e) => {
    const { context, aggregate } = naming.parseEventSubject(e.subject);
    if (context === 'l3' && aggregate === 'floatingip') return false;
    const event = ipamNetworkEvent(naming, e);
    switch (event?.type) {
      case 'PortStatusChanged':
        return false;
      case 'PortCreated':
        return event.data.deviceId !== '';
      case 'PortUpdated': {
        const { changes } = event.data;
        return changes.deviceId !== undefined || changes.fixedIps !== undefined || changes.macAddress !== undefined;
      }
      default:
        return true;
    }
  });
}
