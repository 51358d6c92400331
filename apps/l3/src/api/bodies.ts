import { z } from 'zod';
import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import {
  NEUTRON_LIMITS,
  boundedList,
  defined,
  neutronAddress,
  neutronBoolean,
  neutronId,
  neutronString,
  ownerAttributes,
  parseBody,
  parseUpdateBody,
  parseWith,
  projectOf,
} from '@ncp/nest-common';
import { type GatewayInput } from '../application/router.commands';
import { type RouterAttributes } from '../domain/router.decider';

const text = neutronString();
const address = neutronAddress();
const id = neutronId();
const owner = ownerAttributes();
const route = z.strictObject({ destination: address, nexthop: address });
const routeList = boundedList(route, NEUTRON_LIMITS.routerRoutes, 'routes');
const gatewayInfo = z
  .strictObject({
    network_id: id,
    enable_snat: neutronBoolean('enable_snat').optional(),
    external_fixed_ips: boundedList(
      z.strictObject({ subnet_id: id.optional(), ip_address: address.optional() }),
      NEUTRON_LIMITS.fixedIpsPerPort,
      'external fixed IPs',
    ).optional(),
  })
  .nullable();

const routerBody = z.strictObject({
  ...owner,
  name: text.optional(),
  description: text.optional(),
  admin_state_up: neutronBoolean('admin_state_up').optional(),
  external_gateway_info: z.union([gatewayInfo, z.strictObject({})]).optional(),
  routes: routeList.nullable().optional(),
  ha: neutronBoolean('ha').optional(),
  distributed: neutronBoolean('distributed').optional(),
  nat_exclusions: boundedList(address, 100, 'NAT exclusions').optional(),
  availability_zone_hints: z.array(text).max(0, 'availability zones are not supported').optional(),
});

function gatewayOf(info: z.infer<typeof routerBody>['external_gateway_info']): GatewayInput | null | undefined {
  if (info === undefined) return undefined;
  if (info === null || !('network_id' in info)) return null;
  return {
    networkId: info.network_id,
    enableSnat: info.enable_snat ?? true,
    externalFixedIps: info.external_fixed_ips?.map((f) => ({
      ...(f.subnet_id ? { subnetId: f.subnet_id } : {}),
      ...(f.ip_address ? { ipAddress: f.ip_address } : {}),
    })),
  };
}

/** `haDefault`: the ha of a router created without one (Neutron's l3_ha option, L3_HA_DEFAULT). */
export function createRouterInput(body: unknown, meta: CommandMetadata, haDefault = false) {
  const b = parseBody(body, 'router', routerBody);
  const attributes: RouterAttributes = {
    name: b.name ?? '',
    description: b.description ?? '',
    adminStateUp: b.admin_state_up ?? true,
    ha: b.ha ?? haDefault,
    distributed: b.distributed ?? false,
    natExclusions: b.nat_exclusions ?? [],
  };
  const gateway = gatewayOf(b.external_gateway_info) ?? undefined;
  return { projectId: projectOf(b, meta), attributes, gateway, routes: b.routes ?? undefined };
}

const ROUTER_UPDATABLE = ['name', 'description', 'admin_state_up', 'external_gateway_info', 'routes', 'ha', 'distributed', 'nat_exclusions'];

export function updateRouterInput(body: unknown) {
  const b = parseUpdateBody(body, 'router', routerBody, ROUTER_UPDATABLE);
  return {
    changes: defined({
      name: b.name,
      description: b.description,
      adminStateUp: b.admin_state_up,
      ha: b.ha,
      distributed: b.distributed,
      natExclusions: b.nat_exclusions,
    }),
    gateway: gatewayOf(b.external_gateway_info),
    routes: b.routes === null ? [] : b.routes,
  };
}

export function interfaceInput(body: unknown): { subnetId?: string; portId?: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('API.HTTPBadRequest', 'Bad router request: the body must be {"subnet_id": ...} or {"port_id": ...}');
  }
  const parsed = parseWith(body, z.strictObject({ subnet_id: id.optional(), port_id: id.optional() }));
  return defined({ subnetId: parsed.subnet_id, portId: parsed.port_id });
}

export function extraRoutesInput(body: unknown): { destination: string; nexthop: string }[] {
  const inner = typeof body === 'object' && body !== null ? (body as { router?: unknown }).router : undefined;
  if (typeof inner !== 'object' || inner === null || !('routes' in inner)) {
    throw new ValidationError('API.HTTPBadRequest', 'Bad router request: the body must be {"router": {"routes": [...]}}');
  }
  return parseBody(body, 'router', z.strictObject({ routes: routeList })).routes;
}

const floatingIpBody = z.strictObject({
  ...owner,
  floating_network_id: id.optional(),
  floating_ip_address: address.optional(),
  subnet_id: id.optional(),
  port_id: id.nullable().optional(),
  fixed_ip_address: address.nullable().optional(),
  description: text.optional(),
  dns_name: z.literal('').optional(),
  dns_domain: z.literal('').optional(),
});

export function createFloatingIpInput(body: unknown, meta: CommandMetadata) {
  const b = parseBody(body, 'floatingip', floatingIpBody);
  if (b.floating_network_id === undefined) {
    throw new ValidationError('API.HTTPBadRequest', "Failed to parse request. Required attribute 'floating_network_id' not specified");
  }
  return {
    projectId: projectOf(b, meta),
    floatingNetworkId: b.floating_network_id,
    description: b.description ?? '',
    ...defined({
      floatingIpAddress: b.floating_ip_address,
      subnetId: b.subnet_id,
      portId: b.port_id ?? undefined,
      fixedIpAddress: b.fixed_ip_address ?? undefined,
    }),
  };
}

export function updateFloatingIpInput(body: unknown) {
  const b = parseUpdateBody(body, 'floatingip', floatingIpBody, ['port_id', 'fixed_ip_address', 'description']);
  return {
    portId: b.port_id,
    fixedIpAddress: b.fixed_ip_address ?? undefined,
    description: b.description,
    hasPort: 'port_id' in (body as { floatingip: object }).floatingip,
  };
}

export const REQUEST_SCHEMAS = { router: routerBody, floatingip: floatingIpBody } as const;
