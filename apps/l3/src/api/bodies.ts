import { z } from 'zod';
import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import { neutronBoolean, parseBody, readOnlyOnUpdate } from '@ncp/nest-common';
import { type GatewayInput } from '../application/router.commands';
import { type RouterAttributes } from '../domain/router.decider';

const text = z.string().max(255);
const owner = { tenant_id: z.string().optional(), project_id: z.string().optional() };
const route = z.strictObject({ destination: z.string(), nexthop: z.string() });
const gatewayInfo = z
  .strictObject({
    network_id: z.string(),
    enable_snat: neutronBoolean('enable_snat').optional(),
    external_fixed_ips: z.array(z.strictObject({ subnet_id: z.string().optional(), ip_address: z.string().optional() })).optional(),
  })
  .nullable();

const routerBody = z.strictObject({
  ...owner,
  name: text.optional(),
  description: text.optional(),
  admin_state_up: neutronBoolean('admin_state_up').optional(),
  external_gateway_info: z.union([gatewayInfo, z.strictObject({})]).optional(),
  routes: z.array(route).nullable().optional(),
  ha: neutronBoolean('ha').optional(),
  distributed: neutronBoolean('distributed').optional(),
  nat_exclusions: z.array(z.string()).optional(),
  availability_zone_hints: z.array(z.string()).max(0, 'availability zones are not supported').optional(),
});

function projectOf(body: { tenant_id?: string; project_id?: string }, meta: CommandMetadata): string {
  const asked = body.project_id ?? body.tenant_id;
  if (asked === undefined || asked === meta.projectId) return meta.projectId;
  if (!meta.isAdmin) {
    throw new ValidationError('API.HTTPBadRequest', "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
  }
  return asked;
}

function gatewayOf(info: z.infer<typeof routerBody>['external_gateway_info']): GatewayInput | null | undefined {
  if (info === undefined) return undefined;
  if (info === null || !('network_id' in info)) return null;
  return {
    networkId: info.network_id,
    enableSnat: info.enable_snat ?? true,
    externalFixedIps: info.external_fixed_ips?.map((f) => ({ ...(f.subnet_id ? { subnetId: f.subnet_id } : {}), ...(f.ip_address ? { ipAddress: f.ip_address } : {}) })),
  };
}

const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export function createRouterInput(body: unknown, meta: CommandMetadata) {
  const b = parseBody(body, 'router', routerBody);
  const attributes: RouterAttributes = {
    name: b.name ?? '',
    description: b.description ?? '',
    adminStateUp: b.admin_state_up ?? true,
    ha: b.ha ?? false,
    distributed: b.distributed ?? false,
    natExclusions: b.nat_exclusions ?? [],
  };
  const gateway = gatewayOf(b.external_gateway_info) ?? undefined;
  return { projectId: projectOf(b, meta), attributes, gateway, routes: b.routes ?? undefined };
}

export function updateRouterInput(body: unknown) {
  const b = parseBody(body, 'router', routerBody);
  const inner = (body as { router: Record<string, unknown> }).router;
  readOnlyOnUpdate(inner, ['name', 'description', 'admin_state_up', 'external_gateway_info', 'routes', 'ha', 'distributed', 'nat_exclusions']);
  return {
    changes: defined({ name: b.name, description: b.description, adminStateUp: b.admin_state_up, ha: b.ha, distributed: b.distributed, natExclusions: b.nat_exclusions }),
    gateway: gatewayOf(b.external_gateway_info),
    routes: b.routes === null ? [] : b.routes,
  };
}

export function interfaceInput(body: unknown): { subnetId?: string; portId?: string } {
  const parsed = z.strictObject({ subnet_id: z.string().optional(), port_id: z.string().optional() }).safeParse(body);
  if (!parsed.success) throw new ValidationError('API.HTTPBadRequest', 'Bad router request: the body must be {"subnet_id": ...} or {"port_id": ...}');
  return defined({ subnetId: parsed.data.subnet_id, portId: parsed.data.port_id });
}

export function extraRoutesInput(body: unknown): { destination: string; nexthop: string }[] {
  const parsed = z.strictObject({ router: z.strictObject({ routes: z.array(route) }) }).safeParse(body);
  if (!parsed.success) throw new ValidationError('API.HTTPBadRequest', 'Bad router request: the body must be {"router": {"routes": [...]}}');
  return parsed.data.router.routes;
}

const floatingIpBody = z.strictObject({
  ...owner,
  floating_network_id: z.string().optional(),
  floating_ip_address: z.string().optional(),
  subnet_id: z.string().optional(),
  port_id: z.string().nullable().optional(),
  fixed_ip_address: z.string().nullable().optional(),
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
    ...defined({ floatingIpAddress: b.floating_ip_address, subnetId: b.subnet_id, portId: b.port_id ?? undefined, fixedIpAddress: b.fixed_ip_address ?? undefined }),
  };
}

export function updateFloatingIpInput(body: unknown) {
  const b = parseBody(body, 'floatingip', floatingIpBody);
  const inner = (body as { floatingip: Record<string, unknown> }).floatingip;
  readOnlyOnUpdate(inner, ['port_id', 'fixed_ip_address', 'description']);
  return { portId: b.port_id, fixedIpAddress: b.fixed_ip_address ?? undefined, description: b.description, hasPort: 'port_id' in inner };
}

export const REQUEST_SCHEMAS = { router: routerBody, floatingip: floatingIpBody } as const;
