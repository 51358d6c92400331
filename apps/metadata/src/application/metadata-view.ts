import { type FloatingIpFacts, type InstanceFacts, type PortFacts, type SubnetFacts } from '../domain/formats';
import { type MetadataPrisma } from '../infrastructure/prisma';

export interface InstanceView {
  readonly instance: InstanceFacts;
  /** the instance's ports, oldest first (Nova's order of its interfaces) */
  readonly ports: readonly PortFacts[];
  readonly subnets: ReadonlyMap<string, SubnetFacts>;
  readonly floatingIps: readonly FloatingIpFacts[];
}

/** Everything the formats need of one instance, from the metadata projection; null when it is not registered. */
export async function instanceView(prisma: MetadataPrisma, instanceId: string): Promise<InstanceView | null> {
  const row = await prisma.instance.findUnique({ where: { id: instanceId } });
  if (!row) return null;
  // Only the instance's project's ports: a device_id alone proves nothing (see portOfInstance).
  const ports = await prisma.ipamPort.findMany({ where: { deviceId: instanceId, projectId: row.projectId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  const fixedIps = (p: (typeof ports)[number]) => p.fixedIps as { subnetId: string; ipAddress: string }[];
  const [networks, subnets, floatingIps] = await Promise.all([
    prisma.ipamNetwork.findMany({ where: { id: { in: ports.map((p) => p.networkId) } } }),
    prisma.ipamSubnet.findMany({ where: { id: { in: ports.flatMap((p) => fixedIps(p).map((f) => f.subnetId)) } } }),
    prisma.floatingIp.findMany({ where: { portId: { in: ports.map((p) => p.id) } } }),
  ]);
  const mtuOf = new Map(networks.map((n) => [n.id, n.mtu]));
  return {
    instance: {
      ...row,
      publicKeys: row.publicKeys as unknown as InstanceFacts['publicKeys'],
      metadata: row.metadata as Record<string, string>,
      vendorData: row.vendorData as Record<string, unknown>,
    },
    ports: ports.map((p) => ({ id: p.id, networkId: p.networkId, macAddress: p.macAddress, mtu: mtuOf.get(p.networkId) ?? 1500, fixedIps: fixedIps(p) })),
    subnets: new Map(subnets.map((s) => [s.id, { ...s, hostRoutes: s.hostRoutes as { destination: string; nexthop: string }[] }])),
    floatingIps: floatingIps.flatMap((f) =>
      f.portId !== null && f.fixedIpAddress !== null ? [{ portId: f.portId, fixedIpAddress: f.fixedIpAddress, floatingIpAddress: f.floatingIpAddress }] : [],
    ),
  };
}
