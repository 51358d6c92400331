import { BY_CREATION, STANDARD_ATTRIBUTES, jsonAttr, listAttr, policyWhere, standardWire, stringAttr, type ResourceReader } from '@ncp/nest-common';
import { type Instance } from '../generated/prisma/client';
import { portOfInstance } from '../domain/proxy-intent';
import { type MetadataPrisma } from '../infrastructure/prisma';

type InstanceRow = Instance & { portIds: string[] };

export const instances: ResourceReader<InstanceRow, MetadataPrisma> = {
  path: 'instances',
  spec: {
    singular: 'instance',
    collection: 'instances',
    attributes: {
      ...STANDARD_ATTRIBUTES,
      hostname: stringAttr('hostname'),
      availability_zone: stringAttr('availabilityZone'),
      public_keys: jsonAttr,
      user_data: stringAttr(),
      metadata: jsonAttr,
      vendor_data: jsonAttr,
      port_ids: listAttr,
    },
  },
  notFound: (id) => ({ type: 'InstanceNotFound', message: `Instance ${id} could not be found.` }),
  defaultSort: BY_CREATION,
  visibleTo: (meta) => policyWhere('get_instance', meta),
  findMany: async (prisma, args) => {
    const rows = await prisma.instance.findMany(args);
    const ports = await prisma.ipamPort.findMany({
      where: { deviceId: { in: rows.map((r) => r.id) } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, deviceId: true, projectId: true },
    });
    const instances = new Map(rows.map((r) => [r.id, r.projectId]));
    return rows.map((r) => ({ ...r, portIds: ports.filter((p) => p.deviceId === r.id && portOfInstance(p, instances)).map((p) => p.id) }));
  },
  toWire: (i) => ({
    ...standardWire(i),
    hostname: i.hostname,
    availability_zone: i.availabilityZone,
    public_keys: i.publicKeys,
    user_data: i.userData,
    metadata: i.metadata,
    vendor_data: i.vendorData,
    port_ids: i.portIds,
  }),
};
