import {
  BY_CREATION,
  STANDARD_ATTRIBUTES,
  booleanAttr,
  integerAttr,
  jsonAttr,
  listAttr,
  neutronTimestamp,
  policyWhere,
  standardWire,
  stringAttr,
  type ResourceReader,
} from '@ncp/nest-common';
import { RBAC_WILDCARD, rbacGrants, type CommandMetadata, type PolicyTarget, type RbacAction, type RbacEntry } from '@ncp/contracts';
import { ownedTarget as domainOwnedTarget, onNetworkTarget as domainOnNetworkTarget } from '../domain/rules';
import { type Prisma } from '../generated/prisma/client';
import { type IpamPrisma } from '../infrastructure/prisma';

/** The Neutron resources IPAM serves, read from its projection. */
export type IpamReader<Row> = ResourceReader<Row, IpamPrisma>;

const s = stringAttr;
const b = booleanAttr;
const i = integerAttr;
const list = listAttr;
const obj = jsonAttr;
const standard = STANDARD_ATTRIBUTES;
const byCreation = BY_CREATION;
export const timestamp = neutronTimestamp;

// ---- sharing (RBAC entries) -----------------------------------------------------------

const rbacSelect = { id: true, action: true, targetProject: true, projectId: true } as const;

/** Rows of objects with an entry granting `action` to the project (by name or wildcard). */
const grantedTo = (action: RbacAction) => (projectId: string) => ({
  rbac: { some: { action, targetProject: { in: [RBAC_WILDCARD, projectId] } } },
});

type EntryRow = { id: string; action: string; targetProject: string; projectId: string };
const entriesOf = (rows: readonly EntryRow[]): RbacEntry[] => rows.map((r) => ({ ...r, action: r.action as RbacAction }));

function ownedTarget(o: { projectId: string; rbac: readonly EntryRow[] }, meta: CommandMetadata): PolicyTarget {
  return domainOwnedTarget({ projectId: o.projectId, rbac: entriesOf(o.rbac) }, meta);
}

function onNetworkTarget(network: { projectId: string; rbac: readonly EntryRow[] }, item: { projectId: string }, meta: CommandMetadata): PolicyTarget {
  return domainOnNetworkTarget({ projectId: network.projectId, rbac: entriesOf(network.rbac) }, item, meta);
}

/** Neutron's `shared` of a network, a pool or a scope: whether an entry shares it with the caller's project. */
const sharedFor = (o: { rbac: readonly EntryRow[] }, meta: CommandMetadata): boolean => rbacGrants(entriesOf(o.rbac), 'access_as_shared', meta.projectId);

// ---- networks -------------------------------------------------------------------------

const networkInclude = {
  subnets: { select: { id: true, ipVersion: true, addressScopeId: true }, orderBy: { createdAt: 'asc' as const } },
  rbac: { select: rbacSelect },
};
type NetworkRow = Prisma.NetworkGetPayload<{ include: typeof networkInclude }>;

export const networks: IpamReader<NetworkRow> = {
  path: 'networks',
  spec: {
    singular: 'network',
    collection: 'networks',
    attributes: {
      ...standard,
      description: s('description'),
      admin_state_up: b('adminStateUp'),
      shared: b('shared'),
      status: s('status'),
      subnets: list,
      mtu: i('mtu'),
      port_security_enabled: b('portSecurityEnabled'),
      'router:external': b('external'),
      'provider:network_type': s('networkType'),
      'provider:physical_network': s('physicalNetwork'),
      'provider:segmentation_id': i('segmentationId'),
      availability_zone_hints: list,
      availability_zones: list,
      ipv4_address_scope: s(),
      ipv6_address_scope: s(),
      is_default: b(),
      l2_adjacency: b(),
    },
  },
  notFound: (id) => ({ type: 'NetworkNotFound', message: `Network ${id} could not be found.` }),
  defaultSort: byCreation,
  visibleTo: (meta) => policyWhere('get_network', meta, { shared: grantedTo('access_as_shared'), external: grantedTo('access_as_external') }),
  policyTarget: (n, meta) => ownedTarget(n, meta),
  findMany: (prisma, args) => prisma.network.findMany({ ...args, include: networkInclude }),
  toWire: (n, meta) => ({
    ...standardWire(n),
    description: n.description,
    admin_state_up: n.adminStateUp,
    shared: sharedFor(n, meta),
    status: n.status,
    subnets: n.subnets.map((x) => x.id),
    mtu: n.mtu,
    port_security_enabled: n.portSecurityEnabled,
    'router:external': n.external,
    'provider:network_type': n.networkType,
    'provider:physical_network': n.physicalNetwork,
    'provider:segmentation_id': n.segmentationId,
    availability_zone_hints: [],
    availability_zones: [],
    ipv4_address_scope: n.subnets.find((x) => x.ipVersion === 4)?.addressScopeId ?? null,
    ipv6_address_scope: n.subnets.find((x) => x.ipVersion === 6)?.addressScopeId ?? null,
    is_default: false,
    l2_adjacency: true,
  }),
};

// ---- subnets --------------------------------------------------------------------------

const subnetInclude = { network: { select: { projectId: true, rbac: { select: rbacSelect } } } };
type SubnetRow = Prisma.SubnetGetPayload<{ include: typeof subnetInclude }>;

export const subnets: IpamReader<SubnetRow> = {
  path: 'subnets',
  spec: {
    singular: 'subnet',
    collection: 'subnets',
    attributes: {
      ...standard,
      description: s('description'),
      network_id: s('networkId'),
      ip_version: i('ipVersion'),
      cidr: s('cidr'),
      gateway_ip: s('gatewayIp'),
      allocation_pools: obj,
      host_routes: obj,
      dns_nameservers: list,
      enable_dhcp: b('enableDhcp'),
      ipv6_ra_mode: s('ipv6RaMode'),
      ipv6_address_mode: s('ipv6AddressMode'),
      subnetpool_id: s('subnetpoolId'),
      service_types: list,
      segment_id: s(),
    },
  },
  notFound: (id) => ({ type: 'SubnetNotFound', message: `Subnet ${id} could not be found.` }),
  defaultSort: byCreation,
  // Not `external`: see get_subnet in the policy rules.
  visibleTo: (meta) =>
    policyWhere('get_subnet', meta, {
      networkOwner: (projectId) => ({ network: { projectId } }),
      shared: (projectId) => ({ network: grantedTo('access_as_shared')(projectId) }),
    }),
  policyTarget: (x, meta) => onNetworkTarget(x.network, x, meta),
  findMany: (prisma, args) => prisma.subnet.findMany({ ...args, include: subnetInclude }),
  toWire: (x) => ({
    ...standardWire(x),
    description: x.description,
    network_id: x.networkId,
    ip_version: x.ipVersion,
    cidr: x.cidr,
    gateway_ip: x.gatewayIp,
    allocation_pools: x.allocationPools,
    host_routes: x.hostRoutes,
    dns_nameservers: x.dnsNameservers,
    enable_dhcp: x.enableDhcp,
    ipv6_ra_mode: x.ipv6RaMode,
    ipv6_address_mode: x.ipv6AddressMode,
    subnetpool_id: x.subnetpoolId,
    service_types: x.serviceTypes,
    segment_id: null,
  }),
};

// ---- ports ----------------------------------------------------------------------------

const portInclude = { fixedIps: { orderBy: { position: 'asc' as const } } };
type PortRow = Prisma.PortGetPayload<{ include: typeof portInclude }>;

const FIXED_IP_KEYS = ['ip_address', 'subnet_id', 'ip_address_substr'] as const;

export const ports: IpamReader<PortRow> = {
  path: 'ports',
  spec: {
    singular: 'port',
    collection: 'ports',
    attributes: {
      ...standard,
      description: s('description'),
      network_id: s('networkId'),
      admin_state_up: b('adminStateUp'),
      mac_address: s('macAddress'),
      fixed_ips: obj,
      device_id: s('deviceId'),
      device_owner: s('deviceOwner'),
      status: s('status'),
      security_groups: list,
      allowed_address_pairs: obj,
      extra_dhcp_opts: obj,
      port_security_enabled: b('portSecurityEnabled'),
      'binding:host_id': s('bindingHostId'),
      'binding:profile': obj,
      'binding:vnic_type': s('bindingVnicType'),
      'binding:vif_type': s(),
      'binding:vif_details': obj,
    },
    customFilters: ['fixed_ips'],
  },
  notFound: (id) => ({ type: 'PortNotFound', message: `Port ${id} could not be found.` }),
  defaultSort: byCreation,
  visibleTo: (meta) => policyWhere('get_port', meta, { networkOwner: (networkProjectId) => ({ networkProjectId }) }),
  policyTarget: (p) => ({ projectId: p.projectId, networkProjectId: p.networkProjectId, deviceOwner: p.deviceOwner }),
  customFilter: (_name, values) => ({
    // Each value is one condition (`ip_address=10.0.0.5`); all must hold, as in Neutron.
    AND: values.map((v) => {
      const eq = v.indexOf('=');
      const key = v.slice(0, eq) as (typeof FIXED_IP_KEYS)[number];
      const value = v.slice(eq + 1);
      if (eq < 0 || !FIXED_IP_KEYS.includes(key)) return { id: { in: [] } };
      const cond = key === 'ip_address' ? { ipAddress: value } : key === 'subnet_id' ? { subnetId: value } : { ipAddress: { contains: value } };
      return { fixedIps: { some: cond } };
    }),
  }),
  findMany: (prisma, args) => prisma.port.findMany({ ...args, include: portInclude }),
  toWire: (p) => ({
    ...standardWire(p),
    description: p.description,
    network_id: p.networkId,
    admin_state_up: p.adminStateUp,
    mac_address: p.macAddress,
    fixed_ips: p.fixedIps.map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
    device_id: p.deviceId,
    device_owner: p.deviceOwner,
    status: p.status,
    security_groups: p.securityGroups,
    allowed_address_pairs: (p.allowedAddressPairs as { ipAddress: string; macAddress: string }[]).map((a) => ({
      ip_address: a.ipAddress,
      mac_address: a.macAddress,
    })),
    extra_dhcp_opts: (p.extraDhcpOpts as { optName: string; optValue: string; ipVersion: number }[]).map((o) => ({
      opt_name: o.optName,
      opt_value: o.optValue,
      ip_version: o.ipVersion,
    })),
    port_security_enabled: p.portSecurityEnabled,
    'binding:host_id': p.bindingHostId,
    'binding:profile': p.bindingProfile,
    'binding:vnic_type': p.bindingVnicType,
    'binding:vif_type': p.bindingHostId === '' ? 'unbound' : 'bridge',
    'binding:vif_details': {},
  }),
};

// ---- subnet pools -----------------------------------------------------------------------

const withRbac = { rbac: { select: rbacSelect } };
type SubnetPoolRow = Prisma.SubnetPoolGetPayload<{ include: typeof withRbac }>;

export const subnetPools: IpamReader<SubnetPoolRow> = {
  path: 'subnetpools',
  spec: {
    singular: 'subnetpool',
    collection: 'subnetpools',
    attributes: {
      ...standard,
      description: s('description'),
      ip_version: i('ipVersion'),
      prefixes: list,
      default_prefixlen: i('defaultPrefixlen'),
      min_prefixlen: i('minPrefixlen'),
      max_prefixlen: i('maxPrefixlen'),
      default_quota: i('defaultQuota'),
      shared: b('shared'),
      is_default: b('isDefault'),
      address_scope_id: s('addressScopeId'),
    },
  },
  notFound: (id) => ({ type: 'SubnetPoolNotFound', message: `Subnet pool ${id} could not be found.` }),
  defaultSort: byCreation,
  visibleTo: (meta) => policyWhere('get_subnetpool', meta, { shared: grantedTo('access_as_shared') }),
  policyTarget: (p, meta) => ownedTarget(p, meta),
  findMany: (prisma, args) => prisma.subnetPool.findMany({ ...args, include: withRbac }),
  toWire: (p, meta) => ({
    ...standardWire(p),
    description: p.description,
    ip_version: p.ipVersion,
    prefixes: p.prefixes,
    default_prefixlen: p.defaultPrefixlen,
    min_prefixlen: p.minPrefixlen,
    max_prefixlen: p.maxPrefixlen,
    default_quota: p.defaultQuota,
    shared: sharedFor(p, meta),
    is_default: p.isDefault,
    address_scope_id: p.addressScopeId,
  }),
};

// ---- address scopes ---------------------------------------------------------------------

type AddressScopeRow = Prisma.AddressScopeGetPayload<{ include: typeof withRbac }>;

export const addressScopes: IpamReader<AddressScopeRow> = {
  path: 'address-scopes',
  spec: {
    singular: 'address_scope',
    collection: 'address_scopes',
    attributes: { ...standard, ip_version: i('ipVersion'), shared: b('shared') },
  },
  notFound: (id) => ({ type: 'AddressScopeNotFound', message: `Address scope ${id} could not be found.` }),
  defaultSort: byCreation,
  visibleTo: (meta) => policyWhere('get_address_scope', meta, { shared: grantedTo('access_as_shared') }),
  policyTarget: (a, meta) => ownedTarget(a, meta),
  findMany: (prisma, args) => prisma.addressScope.findMany({ ...args, include: withRbac }),
  toWire: (a, meta) => ({ ...standardWire(a), ip_version: a.ipVersion, shared: sharedFor(a, meta) }),
};

// ---- RBAC policies ------------------------------------------------------------------------

type RbacPolicyRow = Prisma.RbacPolicyGetPayload<object>;

export const rbacPolicies: IpamReader<RbacPolicyRow> = {
  path: 'rbac-policies',
  spec: {
    singular: 'rbac_policy',
    collection: 'rbac_policies',
    attributes: {
      id: s('id'),
      project_id: s('projectId'),
      tenant_id: s('projectId'),
      object_type: s('objectType'),
      object_id: s('objectId'),
      action: s('action'),
      target_tenant: s('targetProject'),
      target_project: s('targetProject'),
    },
  },
  notFound: (id) => ({ type: 'RbacPolicyNotFound', message: `RBAC policy of type unknown with ID ${id} not found` }),
  defaultSort: byCreation,
  visibleTo: (meta) => policyWhere('get_rbac_policy', meta),
  findMany: (prisma, args) => prisma.rbacPolicy.findMany(args),
  toWire: (r) => ({
    id: r.id,
    project_id: r.projectId,
    tenant_id: r.projectId,
    object_type: r.objectType,
    object_id: r.objectId,
    action: r.action,
    target_tenant: r.targetProject,
    target_project: r.targetProject,
  }),
};
