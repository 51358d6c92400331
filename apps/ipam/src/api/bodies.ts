import { z } from 'zod';
import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import {
  NEUTRON_LIMITS,
  boundedJsonObject,
  boundedList,
  defined,
  neutronAddress,
  neutronBoolean,
  neutronId,
  neutronInteger,
  neutronNullableInteger,
  neutronString,
  ownerAttributes,
  parseBody,
  parseUpdateBody,
  parseWith,
  projectOf,
} from '@ncp/nest-common';
import { type CreateNetworkInput } from '../application/network.commands';
import { type CreateRbacPolicyInput } from '../application/rbac-policy.commands';
import { type CreateSubnetInput } from '../application/subnet.commands';
import { type NetworkAttributes, type PortRequest, type PortUpdate, type SubnetUpdate } from '../domain/network.decider';
import { defaultPrefixBounds, type SubnetPoolAttributes, type SubnetPoolUpdate } from '../domain/subnet-pool.decider';

/**
 * Neutron request bodies -> command inputs. Unknown attributes are refused by name,
 * strings are accepted for numbers and booleans, and PUT refuses read-only attributes.
 */

const text = neutronString();
const address = neutronAddress();
const id = neutronId();
const ipVersion = z.unknown().transform((v, ctx): 4 | 6 => {
  const n = typeof v === 'string' ? Number(v) : v;
  if (n !== 4 && n !== 6) {
    ctx.addIssue({ code: 'custom', message: `'${String(v)}' is not in [4, 6]` });
    return z.NEVER;
  }
  return n;
});
const ipv6Mode = z.enum(['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless']).nullable();
const pools = boundedList(z.strictObject({ start: address, end: address }), 100, 'allocation pools');
const routes = boundedList(z.strictObject({ destination: address, nexthop: address }), NEUTRON_LIMITS.hostRoutes, 'host routes');
const owner = ownerAttributes();

/** The project a new resource belongs to; `project_id` and `tenant_id`, when both given, must agree. */
function ownerOf(body: { tenant_id?: string; project_id?: string }, meta: CommandMetadata): string {
  if (body.project_id !== undefined && body.tenant_id !== undefined && body.project_id !== body.tenant_id) {
    throw new ValidationError('API.HTTPBadRequest', "'project_id' and 'tenant_id' do not match");
  }
  return projectOf(body, meta);
}

function innerKeys(body: unknown, singular: string): Record<string, unknown> {
  const inner = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[singular] : undefined;
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {};
}

// ---- networks ---------------------------------------------------------------------------

const networkBody = z.strictObject({
  ...owner,
  name: text.optional(),
  description: text.optional(),
  admin_state_up: neutronBoolean('admin_state_up').optional(),
  shared: neutronBoolean('shared').optional(),
  'router:external': neutronBoolean('router:external').optional(),
  mtu: neutronInteger('mtu').optional(),
  port_security_enabled: neutronBoolean('port_security_enabled').optional(),
  'provider:network_type': z.enum(['flat', 'vlan', 'vxlan', 'local']).optional(),
  'provider:physical_network': neutronString(64).nullable().optional(),
  'provider:segmentation_id': neutronNullableInteger('provider:segmentation_id').optional(),
  availability_zone_hints: z.array(text).max(0, 'availability zones are not supported').optional(),
});
const NETWORK_UPDATABLE = ['name', 'description', 'admin_state_up', 'shared', 'router:external', 'mtu', 'port_security_enabled'];

export function createNetworkInput(body: unknown, meta: CommandMetadata): CreateNetworkInput {
  const b = parseBody(body, 'network', networkBody);
  return {
    projectId: ownerOf(b, meta),
    attributes: {
      name: b.name ?? '',
      description: b.description ?? '',
      adminStateUp: b.admin_state_up ?? true,
      shared: b.shared ?? false,
      external: b['router:external'] ?? false,
      portSecurityEnabled: b.port_security_enabled ?? true,
    },
    mtu: b.mtu,
    segment: defined({
      networkType: b['provider:network_type'],
      physicalNetwork: b['provider:physical_network'],
      segmentationId: b['provider:segmentation_id'],
    }),
  };
}

export function updateNetworkInput(body: unknown): Partial<NetworkAttributes> & { mtu?: number } {
  const keys = innerKeys(body, 'network');
  if (Object.keys(keys).some((k) => k.startsWith('provider:'))) {
    throw new ValidationError('API.HTTPBadRequest', 'Invalid input for operation: Plugin does not support updating provider attributes.');
  }
  const b = parseUpdateBody(body, 'network', networkBody, NETWORK_UPDATABLE);
  return defined({
    name: b.name,
    description: b.description,
    adminStateUp: b.admin_state_up,
    shared: b.shared,
    external: b['router:external'],
    mtu: b.mtu,
    portSecurityEnabled: b.port_security_enabled,
  });
}

// ---- subnets ----------------------------------------------------------------------------

const subnetBody = z.strictObject({
  ...owner,
  network_id: id.optional(),
  name: text.optional(),
  description: text.optional(),
  ip_version: ipVersion.optional(),
  cidr: address.optional(),
  subnetpool_id: id.nullable().optional(),
  use_default_subnetpool: neutronBoolean('use_default_subnetpool').optional(),
  prefixlen: neutronInteger('prefixlen').optional(),
  gateway_ip: address.nullable().optional(),
  allocation_pools: pools.optional(),
  enable_dhcp: neutronBoolean('enable_dhcp').optional(),
  dns_nameservers: boundedList(address, NEUTRON_LIMITS.dnsNameservers, 'DNS nameservers').optional(),
  host_routes: routes.optional(),
  ipv6_ra_mode: ipv6Mode.optional(),
  ipv6_address_mode: ipv6Mode.optional(),
  service_types: boundedList(text, 20, 'service types').optional(),
  segment_id: z.null().optional(),
});
const SUBNET_UPDATABLE = ['name', 'description', 'gateway_ip', 'allocation_pools', 'enable_dhcp', 'dns_nameservers', 'host_routes', 'service_types'];

export function createSubnetInput(body: unknown, meta: CommandMetadata): CreateSubnetInput {
  const b = parseBody(body, 'subnet', subnetBody);
  if (b.network_id === undefined) throw new ValidationError('API.HTTPBadRequest', "Failed to parse request. Required attribute 'network_id' not specified");
  return {
    networkId: b.network_id,
    projectId: ownerOf(b, meta),
    ipVersion: b.ip_version,
    cidr: b.cidr,
    subnetPoolId: b.subnetpool_id ?? undefined,
    useDefaultSubnetPool: b.use_default_subnetpool ?? false,
    prefixLength: b.prefixlen,
    gatewayIp: b.gateway_ip,
    allocationPools: b.allocation_pools,
    enableDhcp: b.enable_dhcp ?? true,
    dnsNameservers: b.dns_nameservers ?? [],
    hostRoutes: b.host_routes ?? [],
    ipv6RaMode: b.ipv6_ra_mode ?? null,
    ipv6AddressMode: b.ipv6_address_mode ?? null,
    serviceTypes: b.service_types ?? [],
    name: b.name ?? '',
    description: b.description ?? '',
  };
}

export function updateSubnetInput(body: unknown): SubnetUpdate {
  const b = parseUpdateBody(body, 'subnet', subnetBody, SUBNET_UPDATABLE);
  return defined({
    name: b.name,
    description: b.description,
    gatewayIp: b.gateway_ip,
    allocationPools: b.allocation_pools,
    enableDhcp: b.enable_dhcp,
    dnsNameservers: b.dns_nameservers,
    hostRoutes: b.host_routes,
    serviceTypes: b.service_types,
  });
}

// ---- ports ------------------------------------------------------------------------------

const portBody = z.strictObject({
  ...owner,
  network_id: id.optional(),
  name: text.optional(),
  description: text.optional(),
  admin_state_up: neutronBoolean('admin_state_up').optional(),
  mac_address: address.optional(),
  fixed_ips: boundedList(z.strictObject({ subnet_id: id.optional(), ip_address: address.optional() }), NEUTRON_LIMITS.fixedIpsPerPort, 'fixed_ips').optional(),
  device_id: neutronString(NEUTRON_LIMITS.deviceId).optional(),
  device_owner: neutronString(NEUTRON_LIMITS.deviceOwner).optional(),
  'binding:host_id': neutronString(NEUTRON_LIMITS.hostId).optional(),
  'binding:profile': boundedJsonObject({ maxBytes: NEUTRON_LIMITS.bindingProfileBytes, maxDepth: 8 }).nullable().optional(),
  'binding:vnic_type': z.enum(['normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'remote-managed']).optional(),
  port_security_enabled: neutronBoolean('port_security_enabled').optional(),
  security_groups: boundedList(id, 100, 'security groups').nullable().optional(),
  // Neutron's maximum of 10 is the decider's, refused with Neutron's AllowedAddressPairExhausted; this only bounds the body.
  allowed_address_pairs: boundedList(z.strictObject({ ip_address: address, mac_address: address.optional() }), 100, 'allowed address pairs').optional(),
  extra_dhcp_opts: boundedList(
    z.strictObject({
      opt_name: neutronString(64),
      opt_value: neutronString(255).nullable(),
      ip_version: z.union([z.literal(4), z.literal(6), z.literal('4'), z.literal('6')]).optional(),
    }),
    64,
    'extra DHCP options',
  )
    .nullable()
    .optional(),
});
const PORT_UPDATABLE = [
  'name',
  'description',
  'admin_state_up',
  'mac_address',
  'fixed_ips',
  'device_id',
  'device_owner',
  'binding:host_id',
  'binding:profile',
  'binding:vnic_type',
  'port_security_enabled',
  'security_groups',
  'allowed_address_pairs',
  'extra_dhcp_opts',
];

const fixedIpsOf = (f: { subnet_id?: string; ip_address?: string }[] | undefined) => f?.map((x) => defined({ subnetId: x.subnet_id, ipAddress: x.ip_address }));
const extraDhcpOptsOf = (o: { opt_name: string; opt_value: string | null; ip_version?: 4 | 6 | '4' | '6' }[] | null | undefined) =>
  o?.map((x) => ({ optName: x.opt_name, optValue: x.opt_value, ipVersion: Number(x.ip_version ?? 4) as 4 | 6 }));
const pairsOf = (p: { ip_address: string; mac_address?: string }[] | undefined) =>
  p?.map((x) => defined({ ipAddress: x.ip_address, macAddress: x.mac_address }) as { ipAddress: string; macAddress?: string });

export function createPortInput(body: unknown, meta: CommandMetadata): { networkId: string; projectId: string; request: PortRequest } {
  const b = parseBody(body, 'port', portBody);
  if (b.network_id === undefined) throw new ValidationError('API.HTTPBadRequest', "Failed to parse request. Required attribute 'network_id' not specified");
  return {
    networkId: b.network_id,
    projectId: ownerOf(b, meta),
    request: {
      name: b.name ?? '',
      description: b.description ?? '',
      adminStateUp: b.admin_state_up ?? true,
      ...defined({ macAddress: b.mac_address, fixedIps: fixedIpsOf(b.fixed_ips), portSecurityEnabled: b.port_security_enabled }),
      // Neutron converts null to []: no groups, not the default one
      securityGroups: b.security_groups === null ? [] : b.security_groups,
      deviceOwner: b.device_owner ?? '',
      deviceId: b.device_id ?? '',
      bindingHostId: b['binding:host_id'] ?? '',
      bindingProfile: b['binding:profile'] ?? {},
      bindingVnicType: b['binding:vnic_type'] ?? 'normal',
      allowedAddressPairs: pairsOf(b.allowed_address_pairs) ?? [],
      extraDhcpOpts: extraDhcpOptsOf(b.extra_dhcp_opts) ?? [],
    },
  };
}

export function updatePortInput(body: unknown): PortUpdate {
  const b = parseUpdateBody(body, 'port', portBody, PORT_UPDATABLE);
  return defined({
    name: b.name,
    description: b.description,
    adminStateUp: b.admin_state_up,
    macAddress: b.mac_address,
    fixedIps: fixedIpsOf(b.fixed_ips),
    deviceId: b.device_id,
    deviceOwner: b.device_owner,
    bindingHostId: b['binding:host_id'],
    bindingProfile: b['binding:profile'] === null ? {} : b['binding:profile'],
    bindingVnicType: b['binding:vnic_type'],
    portSecurityEnabled: b.port_security_enabled,
    securityGroups: b.security_groups === null ? [] : b.security_groups,
    allowedAddressPairs: pairsOf(b.allowed_address_pairs),
    extraDhcpOpts: extraDhcpOptsOf(b.extra_dhcp_opts),
  });
}

// ---- subnet pools -----------------------------------------------------------------------

const poolBody = z.strictObject({
  ...owner,
  name: text.optional(),
  description: text.optional(),
  prefixes: boundedList(address, 256, 'prefixes').optional(),
  default_prefixlen: neutronInteger('default_prefixlen').optional(),
  min_prefixlen: neutronInteger('min_prefixlen').optional(),
  max_prefixlen: neutronInteger('max_prefixlen').optional(),
  default_quota: neutronNullableInteger('default_quota').optional(),
  shared: neutronBoolean('shared').optional(),
  is_default: neutronBoolean('is_default').optional(),
  address_scope_id: id.nullable().optional(),
});
const POOL_UPDATABLE = [
  'name',
  'description',
  'prefixes',
  'default_prefixlen',
  'min_prefixlen',
  'max_prefixlen',
  'default_quota',
  'is_default',
  'address_scope_id',
];

export function createSubnetPoolInput(body: unknown, meta: CommandMetadata): { projectId: string; prefixes: string[]; attributes: SubnetPoolAttributes } {
  const b = parseBody(body, 'subnetpool', poolBody);
  if (b.prefixes === undefined || b.prefixes.length === 0) {
    throw new ValidationError('API.HTTPBadRequest', "Failed to parse request. Required attribute 'prefixes' not specified");
  }
  const version = b.prefixes.some((p) => p.includes(':')) ? 6 : 4;
  const bounds = defaultPrefixBounds(version);
  const min = b.min_prefixlen ?? bounds.min;
  return {
    projectId: ownerOf(b, meta),
    prefixes: b.prefixes,
    attributes: {
      name: b.name ?? '',
      description: b.description ?? '',
      minPrefixLength: min,
      maxPrefixLength: b.max_prefixlen ?? bounds.max,
      defaultPrefixLength: b.default_prefixlen ?? min,
      defaultQuota: b.default_quota ?? null,
      shared: b.shared ?? false,
      isDefault: b.is_default ?? false,
      addressScopeId: b.address_scope_id ?? null,
    },
  };
}

export function updateSubnetPoolInput(body: unknown): SubnetPoolUpdate {
  const b = parseUpdateBody(body, 'subnetpool', poolBody, POOL_UPDATABLE);
  return defined({
    name: b.name,
    description: b.description,
    prefixes: b.prefixes,
    defaultPrefixLength: b.default_prefixlen,
    minPrefixLength: b.min_prefixlen,
    maxPrefixLength: b.max_prefixlen,
    defaultQuota: b.default_quota,
    isDefault: b.is_default,
    addressScopeId: b.address_scope_id,
  });
}

export function prefixesInput(body: unknown): string[] {
  if (typeof body !== 'object' || body === null || !('prefixes' in body)) {
    throw new ValidationError('API.HTTPBadRequest', 'Invalid input: the body must be {"prefixes": ["<cidr>", ...]}');
  }
  return parseWith(body, z.strictObject({ prefixes: boundedList(address, 256, 'prefixes').min(1) })).prefixes;
}

// ---- address scopes -------------------------------------------------------------------------

const scopeBody = z.strictObject({
  ...owner,
  name: text.optional(),
  ip_version: ipVersion.optional(),
  shared: neutronBoolean('shared').optional(),
});

export function createAddressScopeInput(body: unknown, meta: CommandMetadata) {
  const b = parseBody(body, 'address_scope', scopeBody);
  if (b.ip_version === undefined) throw new ValidationError('API.HTTPBadRequest', "Failed to parse request. Required attribute 'ip_version' not specified");
  if (b.name === undefined) throw new ValidationError('API.HTTPBadRequest', "Failed to parse request. Required attribute 'name' not specified");
  return { projectId: ownerOf(b, meta), name: b.name, ipVersion: b.ip_version, shared: b.shared ?? false };
}

export function updateAddressScopeInput(body: unknown): { name?: string; shared?: boolean } {
  const b = parseUpdateBody(body, 'address_scope', scopeBody, ['name', 'shared']);
  return defined({ name: b.name, shared: b.shared });
}

// ---- RBAC policies ------------------------------------------------------------------------

const rbacTarget = z.union([z.literal('*'), id]);
const rbacBody = z.strictObject({
  ...owner,
  object_type: z.enum(['network', 'subnetpool', 'address_scope']).optional(),
  object_id: id.optional(),
  action: z.enum(['access_as_shared', 'access_as_external']).optional(),
  target_tenant: rbacTarget.optional(),
  target_project: rbacTarget.optional(),
});

/** `target_tenant` or its newer name `target_project`; both given, they must agree. */
function rbacTargetOf(b: { target_tenant?: string; target_project?: string }): string | undefined {
  if (b.target_tenant !== undefined && b.target_project !== undefined && b.target_tenant !== b.target_project) {
    throw new ValidationError('API.HTTPBadRequest', "'target_tenant' and 'target_project' do not match");
  }
  return b.target_project ?? b.target_tenant;
}

export function createRbacPolicyInput(body: unknown, meta: CommandMetadata): CreateRbacPolicyInput {
  const b = parseBody(body, 'rbac_policy', rbacBody);
  const required = <T>(name: string, value: T | undefined): T => {
    if (value === undefined) throw new ValidationError('API.HTTPBadRequest', `Failed to parse request. Required attribute '${name}' not specified`);
    return value;
  };
  return {
    projectId: ownerOf(b, meta),
    objectType: required('object_type', b.object_type),
    objectId: required('object_id', b.object_id),
    action: required('action', b.action),
    targetProject: required('target_tenant', rbacTargetOf(b)),
  };
}

export function updateRbacPolicyInput(body: unknown): { targetProject: string } {
  const b = parseUpdateBody(body, 'rbac_policy', rbacBody, ['target_tenant', 'target_project']);
  const targetProject = rbacTargetOf(b);
  if (targetProject === undefined) throw new ValidationError('API.HTTPBadRequest', "Failed to parse request. Required attribute 'target_tenant' not specified");
  return { targetProject };
}

/** Request body schemas by singular, for the OpenAPI document. */
export const REQUEST_SCHEMAS = {
  network: networkBody,
  subnet: subnetBody,
  port: portBody,
  subnetpool: poolBody,
  address_scope: scopeBody,
  rbac_policy: rbacBody,
} as const;
