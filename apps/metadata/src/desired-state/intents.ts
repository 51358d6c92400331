import { DESIRED_KINDS, desiredKey, groupBy } from '@ncp/contracts';
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
