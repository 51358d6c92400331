import { z } from 'zod';
import { type RecordedEvent } from '../envelope';
import { defineEvent, type EventsOf } from '../event-registry';
import { type Naming } from '../subjects';

/**
 * IPAM events. Addresses and prefixes are canonical text (RFC 5952 for IPv6);
 * every field that Neutron lets a user update appears in the matching *Updated
 * event's `changes`, present only when it changed.
 */

export const IPAM_CONTEXT = 'ipam';
export const IPAM_AGGREGATES = {
  addressScope: 'address_scope',
  subnetPool: 'subnet_pool',
  network: 'network',
  registry: 'registry',
  bulkCreate: 'bulk_create',
} as const;
/** The registry is a single aggregate: deployment-wide uniqueness (segments, default pools). */
export const IPAM_REGISTRY_ID = 'global';

const ipVersion = z.union([z.literal(4), z.literal(6)]);
const text = z.string();
const id = z.string().min(1);

// ---- RBAC entries (Neutron's rbac-policies), held by the object they share ---------------

export const rbacAction = z.enum(['access_as_shared', 'access_as_external']);
/**
 * An entry granting `targetProject` (or `*`, every project) access to the aggregate's object
 * (a network, a subnet pool or an address scope). `projectId`: the project that owns the entry.
 */
export const RbacPolicyCreated = defineEvent('RbacPolicyCreated', z.object({ policyId: id, action: rbacAction, targetProject: id, projectId: text }));
export const RbacPolicyUpdated = defineEvent('RbacPolicyUpdated', z.object({ policyId: id, targetProject: id }));
export const RbacPolicyDeleted = defineEvent('RbacPolicyDeleted', z.object({ policyId: id }));
/**
 * The ids of the wildcard entries that `shared: true` (access_as_shared) and
 * `router:external: true` (access_as_external) make, on the events that set those attributes.
 * Events written before RBAC lack them; their entries get ids derived from the object.
 */
const attributeEntryIds = { sharedPolicyId: id.optional(), externalPolicyId: id.optional() };

// ---- address scopes -------------------------------------------------------------

export const AddressScopeCreated = defineEvent(
  'AddressScopeCreated',
  z.object({ projectId: text, name: text, ipVersion, shared: z.boolean(), sharedPolicyId: attributeEntryIds.sharedPolicyId }),
);
export const AddressScopeUpdated = defineEvent(
  'AddressScopeUpdated',
  z.object({ changes: z.object({ name: text.optional(), shared: z.boolean().optional() }), sharedPolicyId: attributeEntryIds.sharedPolicyId }),
);
export const AddressScopeDeleted = defineEvent('AddressScopeDeleted', z.object({}));
/** A subnet pool joined the scope (or grew) with these prefixes; the scope keeps them disjoint. */
export const AddressScopePrefixesClaimed = defineEvent('AddressScopePrefixesClaimed', z.object({ subnetPoolId: id, prefixes: z.array(text) }));
export const AddressScopePrefixesReleased = defineEvent('AddressScopePrefixesReleased', z.object({ subnetPoolId: id, prefixes: z.array(text) }));

// ---- subnet pools ---------------------------------------------------------------

const subnetPoolAttributes = {
  name: text,
  description: text,
  defaultPrefixLength: z.number().int(),
  minPrefixLength: z.number().int(),
  maxPrefixLength: z.number().int(),
  defaultQuota: z.number().int().nullable(),
  shared: z.boolean(),
  isDefault: z.boolean(),
  addressScopeId: id.nullable(),
};

export const SubnetPoolCreated = defineEvent(
  'SubnetPoolCreated',
  z.object({ projectId: text, ipVersion, prefixes: z.array(text), ...subnetPoolAttributes, sharedPolicyId: attributeEntryIds.sharedPolicyId }),
);
export const SubnetPoolUpdated = defineEvent(
  'SubnetPoolUpdated',
  z.object({ changes: z.object(subnetPoolAttributes).partial(), sharedPolicyId: attributeEntryIds.sharedPolicyId }),
);
/** The pool's complete prefix list after add_prefixes / remove_prefixes / an update. */
export const SubnetPoolPrefixesChanged = defineEvent('SubnetPoolPrefixesChanged', z.object({ prefixes: z.array(text) }));
export const SubnetPoolPrefixAllocated = defineEvent('SubnetPoolPrefixAllocated', z.object({ subnetId: id, networkId: id, projectId: text, cidr: text }));
export const SubnetPoolPrefixReleased = defineEvent('SubnetPoolPrefixReleased', z.object({ subnetId: id, cidr: text }));
export const SubnetPoolDeleted = defineEvent('SubnetPoolDeleted', z.object({}));

// ---- registry: deployment-wide uniqueness ------------------------------------------

export const networkType = z.enum(['flat', 'vlan', 'vxlan', 'local']);
export const segmentSchema = z.object({
  networkType,
  physicalNetwork: text.nullable(),
  segmentationId: z.number().int().nullable(),
});
export type Segment = z.infer<typeof segmentSchema>;

export const SegmentReserved = defineEvent('SegmentReserved', z.object({ networkId: id, segment: segmentSchema }));
export const SegmentReleased = defineEvent('SegmentReleased', z.object({ networkId: id }));
export const DefaultSubnetPoolClaimed = defineEvent('DefaultSubnetPoolClaimed', z.object({ ipVersion, subnetPoolId: id }));
export const DefaultSubnetPoolReleased = defineEvent('DefaultSubnetPoolReleased', z.object({ ipVersion, subnetPoolId: id }));

// ---- networks, with their subnets and ports ------------------------------------------

const networkAttributes = {
  name: text,
  description: text,
  adminStateUp: z.boolean(),
  shared: z.boolean(),
  external: z.boolean(),
  mtu: z.number().int(),
  portSecurityEnabled: z.boolean(),
};
export const NetworkCreated = defineEvent('NetworkCreated', z.object({ projectId: text, segment: segmentSchema, ...networkAttributes, ...attributeEntryIds }));
export const NetworkUpdated = defineEvent(
  'NetworkUpdated',
  z.object({
    changes: z.object(networkAttributes).partial(),
    ...attributeEntryIds,
    /** The entries `shared: false` or `router:external: false` took away (for the services that mirror them). */
    removedPolicyIds: z.array(id).optional(),
  }),
);
/** Deletes the network with its remaining subnets (Neutron deletes them along). */
export const NetworkDeleted = defineEvent(
  'NetworkDeleted',
  z.object({
    subnets: z.array(z.object({ subnetId: id, cidr: text, subnetPoolId: id.nullable() })),
    portIds: z.array(id),
    /** Its RBAC entries, gone with it. */
    rbacPolicyIds: z.array(id).optional(),
  }),
);

export const ipv6Mode = z.enum(['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless']);
export const allocationPoolSchema = z.object({ start: text, end: text });
export const hostRouteSchema = z.object({ destination: text, nexthop: text });

const subnetMutableAttributes = {
  name: text,
  description: text,
  gatewayIp: text.nullable(),
  allocationPools: z.array(allocationPoolSchema),
  enableDhcp: z.boolean(),
  dnsNameservers: z.array(text),
  hostRoutes: z.array(hostRouteSchema),
  serviceTypes: z.array(text),
};
export const SubnetCreated = defineEvent(
  'SubnetCreated',
  z.object({
    subnetId: id,
    projectId: text,
    ipVersion,
    cidr: text,
    ipv6RaMode: ipv6Mode.nullable(),
    ipv6AddressMode: ipv6Mode.nullable(),
    subnetPoolId: id.nullable(),
    addressScopeId: id.nullable(),
    ...subnetMutableAttributes,
    /** Existing ports that received an address on this (SLAAC / DHCPv6-stateless) subnet. */
    autoAddresses: z.array(z.object({ portId: id, ipAddress: text })),
  }),
);
export const SubnetUpdated = defineEvent('SubnetUpdated', z.object({ subnetId: id, changes: z.object(subnetMutableAttributes).partial() }));
export const SubnetDeleted = defineEvent('SubnetDeleted', z.object({ subnetId: id, cidr: text, subnetPoolId: id.nullable() }));

export const fixedIpSchema = z.object({ subnetId: id, ipAddress: text });
export type FixedIp = z.infer<typeof fixedIpSchema>;
export const addressPairSchema = z.object({ ipAddress: text, macAddress: text });
export const portStatus = z.enum(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']);

const portMutableAttributes = {
  name: text,
  description: text,
  adminStateUp: z.boolean(),
  macAddress: text,
  fixedIps: z.array(fixedIpSchema),
  deviceOwner: text,
  deviceId: text,
  bindingHostId: text,
  bindingProfile: z.record(z.string(), z.unknown()),
  bindingVnicType: text,
  portSecurityEnabled: z.boolean(),
  securityGroups: z.array(text),
  allowedAddressPairs: z.array(addressPairSchema),
};
/** Neutron's extra_dhcp_opt extension: DHCP options handed to one port. */
export const extraDhcpOptSchema = z.object({ optName: text, optValue: text, ipVersion });
export type ExtraDhcpOpt = z.infer<typeof extraDhcpOptSchema>;

const portCreatedV1 = z.object({ portId: id, projectId: text, status: portStatus, ...portMutableAttributes });
export const PortCreated = defineEvent(
  'PortCreated',
  z.object({ portId: id, projectId: text, status: portStatus, ...portMutableAttributes, extraDhcpOpts: z.array(extraDhcpOptSchema) }),
  // v1 predates extra_dhcp_opts: such a port had none.
  [{ version: 1, schema: portCreatedV1, upcast: (d) => ({ ...(d as object), extraDhcpOpts: [] }) }],
);
export const PortUpdated = defineEvent(
  'PortUpdated',
  // `status` changes only as a consequence (a port bound elsewhere is DOWN until its new
  // host reports it plugged); users cannot set it. `extraDhcpOpts` is the whole new list.
  z.object({ portId: id, changes: z.object({ ...portMutableAttributes, status: portStatus, extraDhcpOpts: z.array(extraDhcpOptSchema) }).partial() }),
);
export const PortStatusChanged = defineEvent(
  'PortStatusChanged',
  // `dhcpProvisioned`: the network's DHCP server confirmed (true) the port, which lifts the
  // DHCP provisioning block (a plugged port is BUILD until then).
  z.object({ portId: id, status: portStatus, reason: text, dhcpProvisioned: z.boolean().optional() }),
);
export const PortDeleted = defineEvent('PortDeleted', z.object({ portId: id, fixedIps: z.array(fixedIpSchema) }));

// ---- bulk creates: the journal of one all-or-none request ------------------------------

/**
 * A bulk create (`POST /v2.0/ports` with `{"ports": [...]}`) spans several aggregates, so it
 * runs as a saga; this journal says which resources it made, so that whoever finishes it
 * (the request, or the orphan sweeper after a crash) can undo them all.
 */
export const bulkCollection = z.enum(['networks', 'subnets', 'ports']);
export const BulkCreateStarted = defineEvent(
  'BulkCreateStarted',
  // `networkId`: the network aggregate that holds the item (the item itself for networks).
  z.object({ collection: bulkCollection, items: z.array(z.object({ id, networkId: id })).min(1) }),
);
/** Every item exists; the request is answered with them. */
export const BulkCreateCompleted = defineEvent('BulkCreateCompleted', z.object({}));
/** An item was refused (or the request was interrupted): what was made is to be undone. */
export const BulkCreateAborted = defineEvent('BulkCreateAborted', z.object({ reason: text }));
/** Every item made by an aborted bulk create is gone again. */
export const BulkCreateUndone = defineEvent('BulkCreateUndone', z.object({}));

/** The events of each aggregate; the context's definitions are all of them. */
const rbacEvents = [RbacPolicyCreated, RbacPolicyUpdated, RbacPolicyDeleted] as const;
const addressScopeEvents = [AddressScopeCreated, AddressScopeUpdated, AddressScopeDeleted, AddressScopePrefixesClaimed, AddressScopePrefixesReleased] as const;
const subnetPoolEvents = [
  SubnetPoolCreated,
  SubnetPoolUpdated,
  SubnetPoolPrefixesChanged,
  SubnetPoolPrefixAllocated,
  SubnetPoolPrefixReleased,
  SubnetPoolDeleted,
] as const;
const registryEvents = [SegmentReserved, SegmentReleased, DefaultSubnetPoolClaimed, DefaultSubnetPoolReleased] as const;
const networkEvents = [
  NetworkCreated,
  NetworkUpdated,
  NetworkDeleted,
  SubnetCreated,
  SubnetUpdated,
  SubnetDeleted,
  PortCreated,
  PortUpdated,
  PortStatusChanged,
  PortDeleted,
] as const;
const bulkCreateEvents = [BulkCreateStarted, BulkCreateCompleted, BulkCreateAborted, BulkCreateUndone] as const;
export const ipamEventDefinitions = [
  ...addressScopeEvents,
  ...subnetPoolEvents,
  ...registryEvents,
  ...networkEvents,
  ...bulkCreateEvents,
  ...rbacEvents,
] as const;

/** Every IPAM event, as a discriminated union on `type`. */
export type IpamEvent = EventsOf<typeof ipamEventDefinitions>;
export type IpamEventType = IpamEvent['type'];
export type IpamEventOf<T extends IpamEventType> = Extract<IpamEvent, { type: T }>;

/** What a network, a subnet pool or an address scope records of its RBAC entries. */
export type RbacEvent = EventsOf<typeof rbacEvents>;
export type RbacAction = z.infer<typeof rbacAction>;
export type AddressScopeEvent = EventsOf<typeof addressScopeEvents> | RbacEvent;
export type SubnetPoolEvent = EventsOf<typeof subnetPoolEvents> | RbacEvent;
export type RegistryEvent = EventsOf<typeof registryEvents>;
export type NetworkEvent = EventsOf<typeof networkEvents> | RbacEvent;
export type BulkCreateEvent = EventsOf<typeof bulkCreateEvents>;

/**
 * The event of an IPAM network aggregate (its subnets and ports are its own), typed, or
 * undefined for an event of anything else: what a service asks to tell whether a batch may
 * change what it derives from ports.
 */
export function ipamNetworkEvent(naming: Naming, recorded: RecordedEvent): NetworkEvent | undefined {
  const { context, aggregate } = naming.parseEventSubject(recorded.subject);
  if (context !== IPAM_CONTEXT || aggregate !== IPAM_AGGREGATES.network) return undefined;
  return { type: recorded.envelope.type, data: recorded.envelope.data } as NetworkEvent;
}
