import {
  BY_CREATION,
  STANDARD_ATTRIBUTES,
  booleanAttr,
  jsonAttr,
  listAttr,
  policyWhere,
  standardWire,
  stringAttr,
  type ResourceReader,
} from '@ncp/nest-common';
import { type Prisma } from '../generated/prisma/client';
import { type L3Prisma } from '../infrastructure/prisma';

type RouterRow = Prisma.RouterGetPayload<{ include: { interfaces: true } }>;
type FloatingIpRow = Prisma.FloatingIpGetPayload<object>;

export const routers: ResourceReader<RouterRow, L3Prisma> = {
  path: 'routers',
  spec: {
    singular: 'router',
    collection: 'routers',
    attributes: {
      ...STANDARD_ATTRIBUTES,
      description: stringAttr('description'),
      admin_state_up: booleanAttr('adminStateUp'),
      status: stringAttr('status'),
      external_gateway_info: jsonAttr,
      routes: jsonAttr,
      ha: booleanAttr('ha'),
      distributed: booleanAttr('distributed'),
      nat_exclusions: listAttr,
      availability_zone_hints: listAttr,
      availability_zones: listAttr,
      flavor_id: stringAttr(),
    },
  },
  notFound: (id) => ({ type: 'RouterNotFound', message: `Router ${id} could not be found.` }),
  defaultSort: BY_CREATION,
  visibleTo: (meta) => policyWhere('get_router', meta),
  findMany: (prisma, args) => prisma.router.findMany({ ...args, include: { interfaces: true } }),
  toWire: (r) => ({
    ...standardWire(r),
    description: r.description,
    admin_state_up: r.adminStateUp,
    status: r.status,
    external_gateway_info: r.gatewayNetworkId
      ? {
          network_id: r.gatewayNetworkId,
          enable_snat: r.enableSnat,
          external_fixed_ips: (r.gatewayFixedIps as { subnetId: string; ipAddress: string }[]).map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
        }
      : null,
    routes: r.routes,
    ha: r.ha,
    distributed: r.distributed,
    nat_exclusions: r.natExclusions,
    availability_zone_hints: [],
    availability_zones: [],
    flavor_id: null,
  }),
};

export const floatingIps: ResourceReader<FloatingIpRow, L3Prisma> = {
  path: 'floatingips',
  spec: {
    singular: 'floatingip',
    collection: 'floatingips',
    attributes: {
      ...STANDARD_ATTRIBUTES,
      name: stringAttr(),
      description: stringAttr('description'),
      floating_ip_address: stringAttr('floatingIpAddress'),
      floating_network_id: stringAttr('floatingNetworkId'),
      router_id: stringAttr('routerId'),
      port_id: stringAttr('portId'),
      fixed_ip_address: stringAttr('fixedIpAddress'),
      status: stringAttr('status'),
      port_details: jsonAttr,
      port_forwardings: listAttr,
      qos_policy_id: stringAttr(),
    },
  },
  notFound: (id) => ({ type: 'FloatingIPNotFound', message: `Floating IP ${id} could not be found` }),
  defaultSort: BY_CREATION,
  visibleTo: (meta) => policyWhere('get_floatingip', meta),
  findMany: (prisma, args) => prisma.floatingIp.findMany(args),
  toWire: (f) => {
    const { name: _name, ...standard } = standardWire({ ...f, name: '' });
    return {
      ...standard,
      description: f.description,
      floating_ip_address: f.floatingIpAddress,
      floating_network_id: f.floatingNetworkId,
      router_id: f.routerId,
      port_id: f.portId,
      fixed_ip_address: f.fixedIpAddress,
      status: f.status,
      port_forwardings: [],
      qos_policy_id: null,
    };
  },
};
