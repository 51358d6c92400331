import {
  evolveRbac,
  legacyAttributeEntryId,
  rbacGrantsAll,
  withAttributeEntry,
  type ExtraDhcpOpt,
  type NetworkEvent,
  type RbacEntry,
  type Segment,
} from '@ncp/contracts';
import { AddressAllocator, cidrContainsIp, formatIp, parseCidr, parseIp, parseRange, type AddressAllocatorJson, type Cidr, type IpRange } from '@ncp/netaddr';

/**
 * A network owns its subnets and its ports, so the invariants that matter most on the
 * hot path (no address allocated twice, no MAC twice on the network, no subnet overlap
 * on the network) each live in one aggregate and one append.
 */

export type Ipv6Mode = 'slaac' | 'dhcpv6-stateful' | 'dhcpv6-stateless';

export interface SubnetState {
  readonly id: string;
  readonly projectId: string;
  readonly ipVersion: 4 | 6;
  readonly cidr: Cidr;
  gatewayIp: bigint | null;
  allocationPools: IpRange[];
  readonly ipv6RaMode: Ipv6Mode | null;
  readonly ipv6AddressMode: Ipv6Mode | null;
  readonly subnetPoolId: string | null;
  readonly addressScopeId: string | null;
  serviceTypes: string[];
  enableDhcp: boolean;
  revision: number;
  /** Every address held by a port on this subnet, including SLAAC ones. */
  readonly allocator: AddressAllocator;
}

/** The device owner of a network's DHCP port. */
export const DHCP_OWNER = 'network:dhcp';

export interface PortFixedIp {
  readonly subnetId: string;
  readonly ip: bigint;
}

export interface PortState {
  readonly id: string;
  readonly projectId: string;
  macAddress: string;
  fixedIps: PortFixedIp[];
  deviceOwner: string;
  deviceId: string;
  bindingHostId: string;
  status: 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR';
  portSecurityEnabled: boolean;
  securityGroups: string[];
  allowedAddressPairs: number;
  extraDhcpOpts: ExtraDhcpOpt[];
  /** Its network's DHCP server has confirmed it serves this port (the DHCP provisioning block is lifted). */
  dhcpProvisioned: boolean;
  revision: number;
}

export interface NetworkState {
  /** The network's id (states know it: entries of events written before RBAC derive their ids from it). */
  readonly id: string;
  exists: boolean;
  projectId: string;
  /** Shared with every project: a wildcard access_as_shared entry is in `rbac`. */
  shared: boolean;
  /** `router:external` (Neutron's ExternalNetwork row): who may use it as such, `rbac` says. */
  external: boolean;
  /** Its RBAC entries (rbac-policies), those `shared` and `router:external` made included. */
  rbac: RbacEntry[];
  mtu: number;
  portSecurityEnabled: boolean;
  segment: Segment | null;
  revision: number;
  /** In creation order, which automatic address allocation follows. */
  readonly subnets: Map<string, SubnetState>;
  readonly ports: Map<string, PortState>;
  readonly macs: Set<string>;
  /** The ports owned by the network's DHCP server (device_owner network:dhcp): an index, not saved in snapshots. */
  readonly dhcpPortIds: Set<string>;
}

export function initialNetwork(id = ''): NetworkState {
  return {
    id,
    exists: false,
    projectId: '',
    shared: false,
    external: false,
    rbac: [],
    mtu: 0,
    portSecurityEnabled: true,
    segment: null,
    revision: 0,
    subnets: new Map(),
    ports: new Map(),
    macs: new Set(),
    dhcpPortIds: new Set(),
  };
}

export const isAutoAddressSubnet = (s: Pick<SubnetState, 'ipVersion' | 'ipv6AddressMode'>): boolean =>
  s.ipVersion === 6 && (s.ipv6AddressMode === 'slaac' || s.ipv6AddressMode === 'dhcpv6-stateless');

/** Router interfaces take explicit addresses only (Neutron's ROUTER_INTERFACE_OWNERS). */
export const ROUTER_INTERFACE_OWNERS = new Set(['network:router_interface', 'network:router_interface_distributed', 'network:ha_router_replicated_interface']);
/** Ports that go away with their network or subnet instead of blocking its deletion. */
export const AUTO_DELETE_OWNERS = new Set([DHCP_OWNER]);

function poolsOf(pools: readonly { start: string; end: string }[]): IpRange[] {
  return pools.map((p) => parseRange(p.start, p.end));
}

function subnetOf(network: NetworkState, subnetId: string): SubnetState {
  const subnet = network.subnets.get(subnetId);
  if (!subnet) throw new Error(`event refers to unknown subnet ${subnetId}`);
  return subnet;
}

function holdAddresses(network: NetworkState, fixedIps: readonly PortFixedIp[]): void {
  for (const f of fixedIps) {
    const subnet = network.subnets.get(f.subnetId);
    if (subnet && !subnet.allocator.isAllocated(f.ip)) subnet.allocator.allocate(f.ip);
  }
}

function releaseAddresses(network: NetworkState, fixedIps: readonly PortFixedIp[]): void {
  for (const f of fixedIps) {
    const subnet = network.subnets.get(f.subnetId);
    if (subnet && subnet.allocator.isAllocated(f.ip)) subnet.allocator.release(f.ip);
  }
}

const toFixed = (fixedIps: readonly { subnetId: string; ipAddress: string }[]): PortFixedIp[] =>
  fixedIps.map((f) => ({ subnetId: f.subnetId, ip: parseIp(f.ipAddress).value }));

/**
 * Folds an event into the network. Updates in place (see Decider): copying a network
 * with tens of thousands of ports per event would make allocation quadratic.
 */
export function evolveNetwork(state: NetworkState, event: NetworkEvent): NetworkState {
  switch (event.type) {
    case 'NetworkCreated': {
      const d = event.data;
      Object.assign(state, {
        exists: true,
        projectId: d.projectId,
        external: d.external,
        mtu: d.mtu,
        portSecurityEnabled: d.portSecurityEnabled,
        segment: d.segment,
        revision: 1,
        rbac: [],
      });
      setAttributeEntries(state, { shared: d.shared, external: d.external }, d);
      return state;
    }
    case 'NetworkUpdated': {
      const c = event.data.changes;
      if (c.external !== undefined) state.external = c.external;
      setAttributeEntries(state, c, event.data);
      if (c.mtu !== undefined) state.mtu = c.mtu;
      if (c.portSecurityEnabled !== undefined) state.portSecurityEnabled = c.portSecurityEnabled;
      state.revision++;
      return state;
    }
    case 'RbacPolicyCreated':
    case 'RbacPolicyUpdated':
    case 'RbacPolicyDeleted': {
      const before = state.rbac;
      state.rbac = evolveRbac(before, event);
      // Neutron: an access_as_external entry makes the network external; without any left, it is not.
      if (event.type === 'RbacPolicyCreated' && event.data.action === 'access_as_external') state.external = true;
      if (event.type === 'RbacPolicyDeleted' && before.some((e) => e.id === event.data.policyId && e.action === 'access_as_external')) {
        state.external = state.rbac.some((e) => e.action === 'access_as_external');
      }
      state.shared = rbacGrantsAll(state.rbac, 'access_as_shared');
      return state;
    }
    case 'NetworkDeleted':
      state.exists = false;
      state.revision++;
      state.subnets.clear();
      state.ports.clear();
      state.macs.clear();
      state.dhcpPortIds.clear();
      return state;
    case 'SubnetCreated': {
      const d = event.data;
      const cidr = parseCidr(d.cidr);
      const subnet: SubnetState = {
        id: d.subnetId,
        projectId: d.projectId,
        ipVersion: d.ipVersion,
        cidr,
        gatewayIp: d.gatewayIp === null ? null : parseIp(d.gatewayIp).value,
        allocationPools: poolsOf(d.allocationPools),
        ipv6RaMode: d.ipv6RaMode,
        ipv6AddressMode: d.ipv6AddressMode,
        subnetPoolId: d.subnetPoolId,
        addressScopeId: d.addressScopeId,
        serviceTypes: d.serviceTypes,
        enableDhcp: d.enableDhcp,
        revision: 1,
        allocator: AddressAllocator.create(d.ipVersion, poolsOf(d.allocationPools)),
      };
      state.subnets.set(d.subnetId, subnet);
      for (const a of d.autoAddresses) {
        const port = state.ports.get(a.portId);
        if (!port) continue;
        const fixed = { subnetId: d.subnetId, ip: parseIp(a.ipAddress).value };
        port.fixedIps = [...port.fixedIps, fixed];
        holdAddresses(state, [fixed]);
      }
      return state;
    }
    case 'SubnetUpdated': {
      const subnet = subnetOf(state, event.data.subnetId);
      const c = event.data.changes;
      if (c.gatewayIp !== undefined) subnet.gatewayIp = c.gatewayIp === null ? null : parseIp(c.gatewayIp).value;
      if (c.allocationPools !== undefined) {
        subnet.allocationPools = poolsOf(c.allocationPools);
        subnet.allocator.setPools(subnet.allocationPools);
      }
      if (c.serviceTypes !== undefined) subnet.serviceTypes = c.serviceTypes;
      if (c.enableDhcp !== undefined) subnet.enableDhcp = c.enableDhcp;
      subnet.revision++;
      return state;
    }
    case 'SubnetDeleted': {
      const id = event.data.subnetId;
      state.subnets.delete(id);
      // Addresses that went with the subnet: SLAAC ones and those of DHCP ports.
      for (const port of state.ports.values()) {
        if (port.fixedIps.some((f) => f.subnetId === id)) port.fixedIps = port.fixedIps.filter((f) => f.subnetId !== id);
      }
      return state;
    }
    case 'PortCreated': {
      const d = event.data;
      const port: PortState = {
        id: d.portId,
        projectId: d.projectId,
        macAddress: d.macAddress,
        fixedIps: toFixed(d.fixedIps),
        deviceOwner: d.deviceOwner,
        deviceId: d.deviceId,
        bindingHostId: d.bindingHostId,
        status: d.status,
        portSecurityEnabled: d.portSecurityEnabled,
        securityGroups: d.securityGroups,
        allowedAddressPairs: d.allowedAddressPairs.length,
        extraDhcpOpts: d.extraDhcpOpts,
        dhcpProvisioned: false,
        revision: 1,
      };
      state.ports.set(d.portId, port);
      state.macs.add(d.macAddress);
      if (port.deviceOwner === DHCP_OWNER) state.dhcpPortIds.add(port.id);
      holdAddresses(state, port.fixedIps);
      return state;
    }
    case 'PortUpdated': {
      const port = state.ports.get(event.data.portId);
      if (!port) throw new Error(`event refers to unknown port ${event.data.portId}`);
      const c = event.data.changes;
      if (c.macAddress !== undefined) {
        state.macs.delete(port.macAddress);
        port.macAddress = c.macAddress;
        state.macs.add(c.macAddress);
      }
      // What the DHCP server hands this port changed: it has to confirm it again.
      if (c.macAddress !== undefined || c.fixedIps !== undefined) port.dhcpProvisioned = false;
      if (c.fixedIps !== undefined) {
        releaseAddresses(state, port.fixedIps);
        port.fixedIps = toFixed(c.fixedIps);
        holdAddresses(state, port.fixedIps);
      }
      if (c.deviceOwner !== undefined) {
        port.deviceOwner = c.deviceOwner;
        if (c.deviceOwner === DHCP_OWNER) state.dhcpPortIds.add(port.id);
        else state.dhcpPortIds.delete(port.id);
      }
      if (c.deviceId !== undefined) port.deviceId = c.deviceId;
      if (c.bindingHostId !== undefined) port.bindingHostId = c.bindingHostId;
      if (c.status !== undefined) port.status = c.status;
      if (c.portSecurityEnabled !== undefined) port.portSecurityEnabled = c.portSecurityEnabled;
      if (c.securityGroups !== undefined) port.securityGroups = c.securityGroups;
      if (c.allowedAddressPairs !== undefined) port.allowedAddressPairs = c.allowedAddressPairs.length;
      if (c.extraDhcpOpts !== undefined) port.extraDhcpOpts = c.extraDhcpOpts;
      port.revision++;
      return state;
    }
    case 'PortStatusChanged': {
      const port = state.ports.get(event.data.portId);
      if (port) {
        port.status = event.data.status;
        if (event.data.dhcpProvisioned !== undefined) port.dhcpProvisioned = event.data.dhcpProvisioned;
        port.revision++;
      }
      return state;
    }
    case 'PortDeleted': {
      const port = state.ports.get(event.data.portId);
      if (!port) return state;
      releaseAddresses(state, port.fixedIps);
      state.macs.delete(port.macAddress);
      state.dhcpPortIds.delete(port.id);
      state.ports.delete(event.data.portId);
      return state;
    }
  }
}

/** The entries `shared` and `router:external` make or take away (Neutron: `router:external: false` removes every access_as_external entry). */
function setAttributeEntries(
  state: NetworkState,
  set: { shared?: boolean; external?: boolean },
  ids: { sharedPolicyId?: string; externalPolicyId?: string },
): void {
  const owner = state.projectId;
  if (set.shared !== undefined) {
    const id = ids.sharedPolicyId ?? legacyAttributeEntryId(state.id, 'access_as_shared');
    state.rbac = withAttributeEntry(state.rbac, { action: 'access_as_shared', on: set.shared, id, ownerProject: owner });
  }
  if (set.external !== undefined) {
    const id = ids.externalPolicyId ?? legacyAttributeEntryId(state.id, 'access_as_external');
    state.rbac = withAttributeEntry(state.rbac, { action: 'access_as_external', on: set.external, id, ownerProject: owner, allTargets: true });
  }
  state.shared = rbacGrantsAll(state.rbac, 'access_as_shared');
}

/** The subnet of the network that contains an address, if any. */
export function subnetContaining(state: NetworkState, ip: { version: 4 | 6; value: bigint }): SubnetState | undefined {
  for (const s of state.subnets.values()) if (cidrContainsIp(s.cidr, ip)) return s;
  return undefined;
}

export const formatFixedIp = (s: Pick<SubnetState, 'ipVersion'>, ip: bigint): string => formatIp(s.ipVersion, ip);

// ---- snapshots -------------------------------------------------------------------------

interface SubnetJson extends Omit<SubnetState, 'cidr' | 'gatewayIp' | 'allocationPools' | 'allocator'> {
  cidr: string;
  gatewayIp: string | null;
  allocationPools: [string, string][];
  allocator: AddressAllocatorJson;
}
interface PortJson extends Omit<PortState, 'fixedIps'> {
  fixedIps: [string, string][];
}
interface NetworkJson extends Omit<NetworkState, 'subnets' | 'ports' | 'macs' | 'dhcpPortIds'> {
  subnets: SubnetJson[];
  ports: PortJson[];
}

// 3: ports carry their extra DHCP options. 4: enable_dhcp on subnets, DHCP provisioning on ports.
// 5: the network's id and RBAC entries.
export const NETWORK_SNAPSHOT_VERSION = 5;

export function networkToJson(state: NetworkState): NetworkJson {
  const { subnets, ports, macs: _macs, dhcpPortIds: _dhcpPortIds, ...scalars } = state;
  return {
    ...scalars,
    subnets: [...subnets.values()].map((s) => ({
      ...s,
      cidr: `${formatIp(s.ipVersion, s.cidr.network)}/${s.cidr.prefixLength}`,
      gatewayIp: s.gatewayIp === null ? null : s.gatewayIp.toString(),
      allocationPools: s.allocationPools.map((p) => [p.first.toString(), p.last.toString()]),
      allocator: s.allocator.toJSON(),
    })),
    ports: [...ports.values()].map((p) => ({ ...p, fixedIps: p.fixedIps.map((f) => [f.subnetId, f.ip.toString()]) })),
  };
}

export function networkFromJson(json: unknown): NetworkState {
  const j = json as NetworkJson;
  const state: NetworkState = { ...j, subnets: new Map(), ports: new Map(), macs: new Set(), dhcpPortIds: new Set() };
  for (const s of j.subnets) {
    state.subnets.set(s.id, {
      ...s,
      cidr: parseCidr(s.cidr),
      gatewayIp: s.gatewayIp === null ? null : BigInt(s.gatewayIp),
      allocationPools: s.allocationPools.map(([first, last]) => ({ version: s.ipVersion, first: BigInt(first), last: BigInt(last) })),
      allocator: AddressAllocator.fromJSON(s.allocator),
    });
  }
  for (const p of j.ports) {
    state.ports.set(p.id, { ...p, fixedIps: p.fixedIps.map(([subnetId, ip]) => ({ subnetId, ip: BigInt(ip) })) });
    state.macs.add(p.macAddress);
    if (p.deviceOwner === DHCP_OWNER) state.dhcpPortIds.add(p.id);
  }
  return state;
}
