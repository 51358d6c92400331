import {
  IPAM_AGGREGATES,
  RBAC_WILDCARD,
  attributeEntryId,
  authorize,
  withAttributeEntry,
  policyNotAuthorized,
  IPAM_CONTEXT,
  ValidationError,
  type CommandMetadata,
  type ExtraDhcpOpt,
  type NetworkEvent,
  type RbacAction,
  type Segment,
} from '@ncp/contracts';
import { type Decider } from '@ncp/eventstore';
import { accessLost, decideRbac, isRbacCommand, type AccessInUse, type RbacCommand } from './rbac';
import { eui64Address, formatCidr, formatIp, parseCidr, parseIp } from '@ncp/netaddr';
import {
  badRequest,
  canSee,
  checkRevision,
  conflict,
  invalidInput,
  mayChange,
  notFound,
  onNetworkTarget,
  ownedTarget,
  refusedPortAttribute,
  requirePolicy,
  unique,
  type PortAttributes,
} from './rules';
import {
  AUTO_DELETE_OWNERS,
  NETWORK_SNAPSHOT_VERSION,
  ROUTER_INTERFACE_OWNERS,
  evolveNetwork,
  initialNetwork,
  isAutoAddressSubnet,
  networkFromJson,
  networkToJson,
  type NetworkState,
  type PortFixedIp,
  type PortState,
  type SubnetState,
} from './network.state';
import {
  IPV6_MIN_MTU,
  checkSubnetFitsNetwork,
  poolsToWire,
  subnetCidr,
  subnetLayout,
  validateDnsNameservers,
  validateHostRoutes,
  validateIpv6Modes,
  validateServiceTypes,
  type SubnetRequest,
} from './subnet-rules';
import { generateMac, macInput, rekeyAutoAddresses, resolveFixedIps, type FixedIpRequest } from './port-rules';
import { changedPortGroups, newPortSecurity, type PortGroupFacts } from './port-security';

export interface NetworkAttributes {
  name: string;
  description: string;
  adminStateUp: boolean;
  shared: boolean;
  external: boolean;
  portSecurityEnabled: boolean;
}

/** The largest MTU each network type allows, from configuration. */
export interface MtuPolicy {
  readonly physicalMtu: number;
  /** Bytes of encapsulation overhead of a VXLAN network over IPv4 (50 in Neutron). */
  readonly vxlanOverhead: number;
}

export interface AddressPair {
  readonly ipAddress: string;
  readonly macAddress?: string;
}

export interface PortRequest {
  name: string;
  description: string;
  adminStateUp: boolean;
  macAddress?: string;
  fixedIps?: readonly FixedIpRequest[];
  deviceOwner: string;
  deviceId: string;
  bindingHostId: string;
  bindingProfile: Record<string, unknown>;
  bindingVnicType: string;
  portSecurityEnabled?: boolean;
  securityGroups?: readonly string[];
  allowedAddressPairs: readonly AddressPair[];
  extraDhcpOpts: readonly ExtraDhcpOptRequest[];
}

/** An extra DHCP option as sent; on update a null value removes the option. */
export interface ExtraDhcpOptRequest {
  optName: string;
  optValue: string | null;
  ipVersion: 4 | 6;
}

export type PortUpdate = Partial<Omit<PortRequest, 'allowedAddressPairs' | 'extraDhcpOpts'>> & {
  allowedAddressPairs?: readonly AddressPair[];
  extraDhcpOpts?: readonly ExtraDhcpOptRequest[];
};

export type SubnetUpdate = Partial<
  Pick<SubnetRequest, 'name' | 'description' | 'gatewayIp' | 'enableDhcp' | 'dnsNameservers' | 'hostRoutes' | 'serviceTypes'>
> & { allocationPools?: readonly { start: string; end: string }[] };

export type NetworkCommand =
  | { type: 'CreateNetwork'; id: string; projectId: string; attributes: NetworkAttributes; mtu?: number; segment: Segment; mtuPolicy: MtuPolicy }
  | {
      type: 'UpdateNetwork';
      id: string;
      changes: Partial<NetworkAttributes> & { mtu?: number };
      expectedRevision?: number;
      mtuPolicy: MtuPolicy;
    }
  | { type: 'DeleteNetwork'; id: string }
  | { type: 'CreateSubnet'; id: string; subnetId: string; projectId: string; request: SubnetRequest }
  | { type: 'UpdateSubnet'; id: string; subnetId: string; changes: SubnetUpdate; expectedRevision?: number }
  | { type: 'DeleteSubnet'; id: string; subnetId: string }
  /** `groups`: what the security groups service said, when the decision needs it (see PortGroupsQuestion). */
  | { type: 'CreatePort'; id: string; portId: string; projectId: string; request: PortRequest; macPrefix: string; groups?: PortGroupFacts }
  | { type: 'UpdatePort'; id: string; portId: string; changes: PortUpdate; expectedRevision?: number; groups?: PortGroupFacts }
  /** `force`: a service deleting a port it owns (router interfaces), which users may not. */
  | { type: 'DeletePort'; id: string; portId: string; force?: boolean }
  /**
   * An agent's report. Ignored when the port is gone, bound elsewhere (a late report from
   * its previous host) or already in that status.
   */
  | { type: 'SetPortStatus'; id: string; portId: string; host: string; status: 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR'; reason: string }
  /** The network's DHCP server (the agent its DHCP port is bound to) serves the port. */
  | { type: 'ConfirmPortDhcp'; id: string; portId: string; host: string }
  | RbacCommand;

type Result = readonly [] | readonly [NetworkEvent];

const L3_SERVICE_OWNERS = new Set(['network:router_gateway', 'network:floatingip']);

/**
 * Neutron deletes an external network's unassociated floating IPs with the network: whether a
 * delete by this caller should first ask L3 to let them go (L3 owns their association, so
 * only it can tell which are unassociated; the delete itself is decided here again after).
 */
export function floatingIpsToLetGoBeforeDelete(state: Readonly<NetworkState>, meta: CommandMetadata): boolean {
  return (
    state.exists && authorize('delete_network', meta, ownedTarget(state, meta)) && [...state.ports.values()].some((p) => p.deviceOwner === 'network:floatingip')
  );
}

export function maxMtu(segment: Segment, policy: MtuPolicy): number {
  return segment.networkType === 'vxlan' ? policy.physicalMtu - policy.vxlanOverhead : policy.physicalMtu;
}

function checkMtu(state: Pick<NetworkState, 'subnets'>, mtu: number, max: number): void {
  if (!Number.isInteger(mtu) || mtu < 68) throw badRequest(`Invalid input for mtu. Reason: ${mtu} is too small, the minimum is 68.`);
  if (mtu > max) throw invalidInput(`Requested MTU is too big, maximum is ${max}`);
  const v6 = [...state.subnets.values()].some((s) => s.ipVersion === 6);
  if (v6 && mtu < IPV6_MIN_MTU) throw invalidInput(`IPv6 subnets need an MTU of at least ${IPV6_MIN_MTU}, requested ${mtu}`);
}

const wireFixedIps = (state: NetworkState, fixedIps: readonly PortFixedIp[]) =>
  fixedIps.map((f) => ({ subnetId: f.subnetId, ipAddress: formatIp(state.subnets.get(f.subnetId)?.ipVersion ?? 4, f.ip) }));

/** Neutron's max_allowed_address_pair default. */
const MAX_ADDRESS_PAIRS = 10;

function checkAddressPairs(pairs: readonly AddressPair[], portMac: string): { ipAddress: string; macAddress: string }[] {
  if (pairs.length > MAX_ADDRESS_PAIRS) {
    throw new ValidationError('IPAM.AllowedAddressPairExhausted', `The number of allowed address pair exceeds the maximum ${MAX_ADDRESS_PAIRS}.`);
  }
  const out: { ipAddress: string; macAddress: string }[] = [];
  for (const p of pairs) {
    const pair = {
      ipAddress: p.ipAddress.includes('/') ? formatCidr(parseCidrLoose(p.ipAddress)) : normaliseIp(p.ipAddress),
      macAddress: p.macAddress === undefined ? portMac : macInput(p.macAddress),
    };
    if (out.some((o) => o.ipAddress === pair.ipAddress && o.macAddress === pair.macAddress)) {
      throw new ValidationError(
        'IPAM.DuplicateAddressPairInRequest',
        `Request contains duplicate address pair: mac_address ${pair.macAddress} ip_address ${pair.ipAddress}.`,
      );
    }
    out.push(pair);
  }
  return out;
}

function parseCidrLoose(text: string) {
  try {
    return parseCidr(text);
  } catch {
    throw badRequest(`Invalid input for allowed_address_pairs. Reason: '${text}' is not a valid IP address or subnet.`);
  }
}
function normaliseIp(text: string): string {
  try {
    const ip = parseIp(text);
    return formatIp(ip.version, ip.value);
  } catch {
    throw badRequest(`Invalid input for allowed_address_pairs. Reason: '${text}' is not a valid IP address or subnet.`);
  }
}

// dnsmasq option names (`tftp-server`, `bootfile-name`) or numbers (`150`); values go into
// its options file one per line, so a line break could smuggle in another option.
const DHCP_OPT_NAME = /^[A-Za-z0-9_-]{1,40}$/;
const isDhcpOptValue = (v: string) => v.length <= 255 && ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/**
 * Neutron's extra_dhcp_opt semantics: options are keyed by (name, IP version); the options
 * sent are added or replace the value of the same key, a null value removes the key.
 */
function mergeExtraDhcpOpts(current: readonly ExtraDhcpOpt[], requested: readonly ExtraDhcpOptRequest[]): ExtraDhcpOpt[] {
  const keys = requested.map((o) => `${o.optName}|${o.ipVersion}`);
  if (unique(keys).length !== keys.length) throw badRequest('Duplicate extra_dhcp_opts: an option name may appear once per ip_version.');
  const merged = new Map(current.map((o) => [`${o.optName}|${o.ipVersion}`, o]));
  for (const o of requested) {
    if (!DHCP_OPT_NAME.test(o.optName)) throw badRequest(`Invalid input for extra_dhcp_opts. Reason: '${o.optName}' is not a valid DHCP option name.`);
    const key = `${o.optName}|${o.ipVersion}`;
    if (o.optValue === null) {
      merged.delete(key);
      continue;
    }
    if (!isDhcpOptValue(o.optValue)) {
      throw badRequest(`Invalid input for extra_dhcp_opts. Reason: the value of '${o.optName}' must be at most 255 characters without control characters.`);
    }
    merged.set(key, { optName: o.optName, optValue: o.optValue, ipVersion: o.ipVersion });
  }
  return [...merged.values()];
}

function decide(command: NetworkCommand, state: Readonly<NetworkState>, meta: CommandMetadata): Result {
  const net = state as NetworkState;
  if (command.type === 'CreateNetwork') {
    if (state.exists || state.revision > 0) throw conflict('NetworkExists', `Network ${command.id} already exists.`);
    const max = maxMtu(command.segment, command.mtuPolicy);
    const mtu = command.mtu ?? max;
    checkMtu(net, mtu, max);
    const a = command.attributes;
    const ids = {
      ...(a.shared ? { sharedPolicyId: attributeEntryId(command.id, 'access_as_shared', 0) } : {}),
      ...(a.external ? { externalPolicyId: attributeEntryId(command.id, 'access_as_external', 0) } : {}),
    };
    return [{ type: 'NetworkCreated', data: { projectId: command.projectId, segment: command.segment, mtu, ...a, ...ids } }];
  }
  if (!state.exists) throw notFoundFor(command);
  // A subnet or port is seen and changed on its own rights (its project, or its network's
  // sharing), not the network's: a caller naming another project's subnet learns that it
  // is not found, and nothing about its network.
  const targetsNetwork =
    command.type === 'UpdateNetwork' ||
    command.type === 'DeleteNetwork' ||
    command.type === 'CreateSubnet' ||
    command.type === 'CreatePort' ||
    isRbacCommand(command);
  if (targetsNetwork && !canSee(meta, 'get_network', ownedTarget(state, meta))) throw notFoundFor(command);
  if (isRbacCommand(command))
    return decideRbac(command, { objectType: 'network', id: command.id, projectId: state.projectId, rbac: state.rbac }, meta, accessInUse(state));
  switch (command.type) {
    case 'UpdateNetwork':
      return updateNetwork(net, command, meta);
    case 'DeleteNetwork': {
      requirePolicy(meta, 'delete_network', ownedTarget(state, meta));
      const blocking = [...state.ports.values()].filter((p) => !AUTO_DELETE_OWNERS.has(p.deviceOwner));
      if (blocking.length > 0) {
        throw conflict('NetworkInUse', `Unable to complete operation on network ${command.id}. There are one or more ports still in use on the network.`);
      }
      return [
        {
          type: 'NetworkDeleted',
          data: {
            subnets: [...state.subnets.values()].map((s) => ({ subnetId: s.id, cidr: formatCidr(s.cidr), subnetPoolId: s.subnetPoolId })),
            portIds: [...state.ports.keys()],
            ...(state.rbac.length > 0 ? { rbacPolicyIds: state.rbac.map((e) => e.id) } : {}),
          },
        },
      ];
    }
    case 'CreateSubnet':
      return createSubnet(net, command, meta);
    case 'UpdateSubnet':
      return updateSubnet(net, command, meta);
    case 'DeleteSubnet': {
      const subnet = changeableSubnet(net, command.subnetId, 'delete_subnet', meta);
      const auto = isAutoAddressSubnet(subnet);
      const blocking = [...state.ports.values()].some(
        (p) =>
          p.fixedIps.some((f) => f.subnetId === subnet.id) && !AUTO_DELETE_OWNERS.has(p.deviceOwner) && !(auto && !ROUTER_INTERFACE_OWNERS.has(p.deviceOwner)),
      );
      if (blocking) {
        throw conflict('SubnetInUse', `Unable to complete operation on subnet ${subnet.id}: One or more ports have an IP allocation from this subnet.`);
      }
      return [{ type: 'SubnetDeleted', data: { subnetId: subnet.id, cidr: formatCidr(subnet.cidr), subnetPoolId: subnet.subnetPoolId } }];
    }
    case 'CreatePort':
      return createPort(net, command, meta);
    case 'UpdatePort':
      return updatePort(net, command, meta);
    case 'DeletePort': {
      const port = changeablePort(net, command.portId, 'delete_port', meta);
      // L3's ports go through L3: a floating IP's port deleted under it would free its address
      // while the floating IP still holds it.
      if (!command.force && (ROUTER_INTERFACE_OWNERS.has(port.deviceOwner) || L3_SERVICE_OWNERS.has(port.deviceOwner))) {
        throw conflict('ServicePortInUse', `Port ${command.portId} cannot be deleted directly via the port API: has device owner ${port.deviceOwner}.`);
      }
      return [{ type: 'PortDeleted', data: { portId: port.id, fixedIps: wireFixedIps(net, port.fixedIps) } }];
    }
    case 'SetPortStatus': {
      const port = state.ports.get(command.portId);
      if (!port || port.bindingHostId !== command.host) return [];
      // Plugged but not yet in its DHCP server: BUILD, so whoever starts the workload when the
      // port is ACTIVE (as Nova waits for vif-plugged) does not DISCOVER before dnsmasq knows it.
      const blocked = command.status === 'ACTIVE' && awaitsDhcp(state, port);
      const status = blocked ? 'BUILD' : command.status;
      if (port.status === status) return [];
      return [
        {
          type: 'PortStatusChanged',
          data: { portId: command.portId, status, reason: blocked ? `${command.reason}; waiting for its DHCP server` : command.reason },
        },
      ];
    }
    case 'ConfirmPortDhcp': {
      const port = state.ports.get(command.portId);
      if (!port || port.dhcpProvisioned || dhcpServerHost(state) !== command.host) return [];
      const status = port.status === 'BUILD' ? 'ACTIVE' : port.status;
      return [{ type: 'PortStatusChanged', data: { portId: port.id, status, reason: 'plugged; in its DHCP server', dhcpProvisioned: true } }];
    }
  }
}

/** The host of the network's DHCP server: where its DHCP port is bound, if anywhere. */
function dhcpServerHost(state: NetworkState): string | null {
  for (const id of state.dhcpPortIds) {
    const host = state.ports.get(id)?.bindingHostId;
    if (host) return host;
  }
  return null;
}

/**
 * Neutron's DHCP provisioning block: a port that gets an address from the network's DHCP
 * server (DHCPv4, or DHCPv6 stateful) is ACTIVE only once that server has confirmed it. Network
 * service ports (router, DHCP) configure their own addresses and wait for nothing.
 */
function awaitsDhcp(state: NetworkState, port: PortState): boolean {
  if (port.dhcpProvisioned || port.deviceOwner.startsWith('network:') || dhcpServerHost(state) === null) return false;
  return port.fixedIps.some((f) => {
    const s = state.subnets.get(f.subnetId);
    return s !== undefined && s.enableDhcp && (s.ipVersion === 4 || s.ipv6AddressMode === 'dhcpv6-stateful');
  });
}

/** The not-found of the resource a command names, as its caller named it (never a related id). */
function notFoundFor(command: Exclude<NetworkCommand, { type: 'CreateNetwork' }>) {
  switch (command.type) {
    case 'UpdateSubnet':
    case 'DeleteSubnet':
      return notFound('SubnetNotFound', `Subnet ${command.subnetId} could not be found.`);
    case 'UpdatePort':
    case 'DeletePort':
    case 'SetPortStatus':
    case 'ConfirmPortDhcp':
      return notFound('PortNotFound', `Port ${command.portId} could not be found.`);
    default:
      return notFound('NetworkNotFound', `Network ${command.id} could not be found.`);
  }
}

/** The subnet if the caller may change it: not found when it may not see it, else a 403 naming the rule. */
function changeableSubnet(state: NetworkState, subnetId: string, action: 'update_subnet' | 'delete_subnet', meta: CommandMetadata): SubnetState {
  const subnet = state.subnets.get(subnetId);
  const missing = () => notFound('SubnetNotFound', `Subnet ${subnetId} could not be found.`);
  if (!subnet) throw missing();
  mayChange(meta, 'get_subnet', action, onNetworkTarget(state, subnet, meta), missing);
  return subnet;
}

/** The port if the caller may change it: not found when it may not see it, else a 403 naming the rule. */
function changeablePort(state: NetworkState, portId: string, action: 'update_port' | 'delete_port', meta: CommandMetadata): PortState {
  const port = state.ports.get(portId);
  const missing = () => notFound('PortNotFound', `Port ${portId} could not be found.`);
  if (!port) throw missing();
  mayChange(meta, 'get_port', action, onNetworkTarget(state, port, meta), missing);
  return port;
}

function updateNetwork(state: NetworkState, command: Extract<NetworkCommand, { type: 'UpdateNetwork' }>, meta: CommandMetadata): Result {
  requirePolicy(meta, 'update_network', ownedTarget(state, meta));
  checkRevision(state.revision, command.expectedRevision);
  const c = command.changes;
  if (c.mtu !== undefined && state.segment) checkMtu(state, c.mtu, maxMtu(state.segment, command.mtuPolicy));
  if (c.shared === false && state.shared) {
    const after = withAttributeEntry(state.rbac, { action: 'access_as_shared', on: false, id: '', ownerProject: state.projectId });
    if (accessInUse(state)('access_as_shared', accessLost(state.projectId, RBAC_WILDCARD, after, 'access_as_shared')) !== undefined) {
      throw conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${command.id}. Multiple tenants are using it.`);
    }
  }
  if (c.external === false && state.external) {
    if ([...state.ports.values()].some((p) => p.deviceOwner === 'network:router_gateway' || p.deviceOwner === 'network:floatingip')) {
      throw conflict('ExternalNetworkInUse', `External network ${command.id} cannot be updated to be internal: it has router gateway or floating IP ports.`);
    }
  }
  // The wildcard entry `true` keeps or makes, named on the event for those who mirror the entries.
  const wildcardId = (action: RbacAction) =>
    state.rbac.find((e) => e.action === action && e.targetProject === RBAC_WILDCARD)?.id ?? attributeEntryId(command.id, action, state.revision);
  const ids = {
    ...(c.shared === true ? { sharedPolicyId: wildcardId('access_as_shared') } : {}),
    ...(c.external === true ? { externalPolicyId: wildcardId('access_as_external') } : {}),
  };
  let after = state.rbac;
  if (c.shared === false) after = withAttributeEntry(after, { action: 'access_as_shared', on: false, id: '', ownerProject: state.projectId });
  if (c.external === false)
    after = withAttributeEntry(after, { action: 'access_as_external', on: false, id: '', ownerProject: state.projectId, allTargets: true });
  const removed = state.rbac.filter((e) => !after.some((kept) => kept.id === e.id)).map((e) => e.id);
  return [{ type: 'NetworkUpdated', data: { changes: c, ...ids, ...(removed.length > 0 ? { removedPolicyIds: removed } : {}) } }];
}

/**
 * What uses a network's sharing: ports of the projects that would lose it (Neutron's
 * ensure_no_tenant_ports_on_network); what uses it as external: their router gateways and
 * floating IPs.
 */
function accessInUse(state: NetworkState): AccessInUse {
  return (action, lost) => {
    const uses = (p: PortState) => lost(p.projectId) && (action === 'access_as_shared' || L3_SERVICE_OWNERS.has(p.deviceOwner));
    const port = [...state.ports.values()].find(uses);
    return port === undefined ? undefined : `port ${port.id} of project ${port.projectId} uses it`;
  };
}

function createSubnet(state: NetworkState, command: Extract<NetworkCommand, { type: 'CreateSubnet' }>, meta: CommandMetadata): Result {
  requirePolicy(meta, 'create_subnet', onNetworkTarget(state, { projectId: command.projectId }, meta));
  if (state.subnets.has(command.subnetId)) throw conflict('SubnetExists', `Subnet ${command.subnetId} already exists.`);
  const r = command.request;
  const cidr = subnetCidr(r.cidr);
  if (cidr.version !== r.ipVersion) {
    throw invalidInput(`Cidr ${r.cidr} does not match ip_version ${r.ipVersion}`);
  }
  validateIpv6Modes(r.ipVersion, cidr, r.ipv6RaMode, r.ipv6AddressMode);
  if (r.ipVersion === 6 && state.mtu < IPV6_MIN_MTU) {
    throw invalidInput(`IPv6 protocol requires a minimum MTU of ${IPV6_MIN_MTU}, while the configured value of network ${command.id} is ${state.mtu}`);
  }
  const layout = subnetLayout(cidr, r.gatewayIp, r.allocationPools);
  checkSubnetFitsNetwork(state, command.id, command.subnetId, cidr, r.addressScopeId);
  const dnsNameservers = validateDnsNameservers(r.dnsNameservers);
  const hostRoutes = validateHostRoutes(cidr, r.hostRoutes);
  const serviceTypes = validateServiceTypes(r.serviceTypes);
  const auto = isAutoAddressSubnet({ ipVersion: r.ipVersion, ipv6AddressMode: r.ipv6AddressMode });
  // Neutron gives every existing port (router interfaces excepted) its address on a new
  // SLAAC / DHCPv6-stateless subnet.
  const autoAddresses = auto
    ? [...state.ports.values()]
        .filter((p) => !ROUTER_INTERFACE_OWNERS.has(p.deviceOwner) && !AUTO_DELETE_OWNERS.has(p.deviceOwner))
        .filter((p) => serviceTypes.length === 0 || serviceTypes.includes(p.deviceOwner))
        .map((p) => ({ portId: p.id, ipAddress: formatIp(6, eui64Address(cidr, p.macAddress)) }))
    : [];
  return [
    {
      type: 'SubnetCreated',
      data: {
        subnetId: command.subnetId,
        projectId: command.projectId,
        ipVersion: r.ipVersion,
        cidr: formatCidr(cidr),
        gatewayIp: layout.gateway === null ? null : formatIp(layout.gateway.version, layout.gateway.value),
        allocationPools: poolsToWire(layout.pools),
        enableDhcp: r.enableDhcp,
        dnsNameservers,
        hostRoutes,
        ipv6RaMode: r.ipv6RaMode,
        ipv6AddressMode: r.ipv6AddressMode,
        subnetPoolId: r.subnetPoolId,
        addressScopeId: r.addressScopeId,
        serviceTypes,
        name: r.name,
        description: r.description,
        autoAddresses,
      },
    },
  ];
}

function updateSubnet(state: NetworkState, command: Extract<NetworkCommand, { type: 'UpdateSubnet' }>, meta: CommandMetadata): Result {
  const subnet = changeableSubnet(state, command.subnetId, 'update_subnet', meta);
  checkRevision(subnet.revision, command.expectedRevision);
  const c = command.changes;
  const changes: Record<string, unknown> = {};
  if (c.name !== undefined) changes.name = c.name;
  if (c.description !== undefined) changes.description = c.description;
  if (c.enableDhcp !== undefined) changes.enableDhcp = c.enableDhcp;
  if (c.dnsNameservers !== undefined) changes.dnsNameservers = validateDnsNameservers(c.dnsNameservers);
  if (c.hostRoutes !== undefined) changes.hostRoutes = validateHostRoutes(subnet.cidr, c.hostRoutes);
  if (c.serviceTypes !== undefined) changes.serviceTypes = validateServiceTypes(c.serviceTypes);
  if (c.gatewayIp !== undefined || c.allocationPools !== undefined) {
    const gatewayText = c.gatewayIp !== undefined ? c.gatewayIp : subnet.gatewayIp === null ? null : formatIp(subnet.ipVersion, subnet.gatewayIp);
    const pools = c.allocationPools ?? poolsToWire(subnet.allocationPools);
    const layout = subnetLayout(subnet.cidr, gatewayText, pools);
    if (c.gatewayIp !== undefined) {
      const gw = layout.gateway;
      if (gw !== null && gw.value !== subnet.gatewayIp) {
        const holder = [...state.ports.values()].find(
          (p) => !ROUTER_INTERFACE_OWNERS.has(p.deviceOwner) && p.fixedIps.some((f) => f.subnetId === subnet.id && f.ip === gw.value),
        );
        if (holder) {
          throw conflict('GatewayIpInUse', `Current gateway ip ${formatIp(gw.version, gw.value)} already in use by port ${holder.id}. Unable to update.`);
        }
      }
      changes.gatewayIp = gw === null ? null : formatIp(gw.version, gw.value);
    }
    if (c.allocationPools !== undefined) changes.allocationPools = poolsToWire(layout.pools);
  }
  return [{ type: 'SubnetUpdated', data: { subnetId: subnet.id, changes } }];
}

/**
 * Neutron's port policy (create_port / update_port and their attribute rules): on a network the
 * caller does not own (one shared with it), addresses and MAC come from the network and
 * `network:` device owners (router, DHCP, floating IP ports) are the network owner's, so nobody
 * takes another project's gateway address or poses as its router.
 */
function checkPortPolicy(state: NetworkState, meta: CommandMetadata, action: 'create_port' | 'update_port', projectId: string, r: PortAttributes): void {
  const target = onNetworkTarget(state, { projectId, deviceOwner: r.deviceOwner }, meta);
  if (action === 'create_port') requirePolicy(meta, action, target);
  const refused = refusedPortAttribute(action, meta, target, r);
  if (refused !== undefined) throw policyNotAuthorized('IPAM', refused);
}

function createPort(state: NetworkState, command: Extract<NetworkCommand, { type: 'CreatePort' }>, meta: CommandMetadata): Result {
  if (state.ports.has(command.portId)) throw conflict('PortExists', `Port ${command.portId} already exists.`);
  const r = command.request;
  checkPortPolicy(state, meta, 'create_port', command.projectId, r);
  let macAddress: string;
  if (r.macAddress !== undefined) {
    macAddress = macInput(r.macAddress);
    if (state.macs.has(macAddress)) {
      throw conflict('MacAddressInUse', `Unable to complete operation for network ${command.id}. The mac address ${macAddress} is in use.`);
    }
  } else {
    macAddress = generateMac(command.macPrefix, command.portId, state.macs);
  }
  const fixedIps = resolveFixedIps({ network: state, networkId: command.id, macAddress, deviceOwner: r.deviceOwner, requested: r.fixedIps });
  const allowedAddressPairs = checkAddressPairs(r.allowedAddressPairs, macAddress);
  const extraDhcpOpts = mergeExtraDhcpOpts([], r.extraDhcpOpts);
  // last: it may need the security groups service's answer, asked only once the rest is accepted
  const { portSecurityEnabled, securityGroups } = newPortSecurity(
    {
      projectId: command.projectId,
      deviceOwner: r.deviceOwner,
      portSecurityEnabled: r.portSecurityEnabled,
      networkPortSecurity: state.portSecurityEnabled,
      securityGroups: r.securityGroups,
      hasIp: fixedIps.length > 0,
      addressPairs: allowedAddressPairs.length,
    },
    command.groups,
  );
  return [
    {
      type: 'PortCreated',
      data: {
        portId: command.portId,
        projectId: command.projectId,
        status: 'DOWN',
        name: r.name,
        description: r.description,
        adminStateUp: r.adminStateUp,
        macAddress,
        fixedIps: wireFixedIps(state, fixedIps),
        deviceOwner: r.deviceOwner,
        deviceId: r.deviceId,
        bindingHostId: r.bindingHostId,
        bindingProfile: r.bindingProfile,
        bindingVnicType: r.bindingVnicType,
        portSecurityEnabled,
        securityGroups,
        allowedAddressPairs,
        extraDhcpOpts,
      },
    },
  ];
}

function updatePort(state: NetworkState, command: Extract<NetworkCommand, { type: 'UpdatePort' }>, meta: CommandMetadata): Result {
  const port = changeablePort(state, command.portId, 'update_port', meta);
  checkRevision(port.revision, command.expectedRevision);
  const c = command.changes;
  checkPortPolicy(state, meta, 'update_port', port.projectId, c);
  const changes: Record<string, unknown> = {};
  for (const key of ['name', 'description', 'adminStateUp', 'deviceOwner', 'deviceId', 'bindingHostId', 'bindingProfile', 'bindingVnicType'] as const) {
    if (c[key] !== undefined) changes[key] = c[key];
  }
  // A port moved to another host (or unbound) is DOWN until that host plugs it.
  if (c.bindingHostId !== undefined && c.bindingHostId !== port.bindingHostId && port.status !== 'DOWN') changes.status = 'DOWN';
  let macAddress = port.macAddress;
  let fixedIps = port.fixedIps;
  if (c.macAddress !== undefined) {
    const mac = macInput(c.macAddress);
    if (mac !== port.macAddress) {
      if (port.bindingHostId !== '' && (c.bindingHostId ?? port.bindingHostId) !== '') {
        throw conflict('PortBound', `Unable to complete operation on port ${port.id}, port is already bound, old_mac ${port.macAddress}, new_mac ${mac}.`);
      }
      if (state.macs.has(mac)) {
        throw conflict('MacAddressInUse', `Unable to complete operation for network ${command.id}. The mac address ${mac} is in use.`);
      }
      fixedIps = rekeyAutoAddresses(state, fixedIps, port.macAddress, mac);
      macAddress = mac;
      changes.macAddress = mac;
    }
  }
  const deviceOwner = c.deviceOwner ?? port.deviceOwner;
  if (c.fixedIps !== undefined) {
    fixedIps = resolveFixedIps({ network: state, networkId: command.id, macAddress, deviceOwner, requested: c.fixedIps, keep: port.fixedIps });
  }
  if (c.fixedIps !== undefined || fixedIps !== port.fixedIps) changes.fixedIps = wireFixedIps(state, fixedIps);
  const pairs = c.allowedAddressPairs !== undefined ? checkAddressPairs(c.allowedAddressPairs, macAddress) : undefined;
  if (c.extraDhcpOpts !== undefined) changes.extraDhcpOpts = mergeExtraDhcpOpts(port.extraDhcpOpts, c.extraDhcpOpts);
  // last: it may need the security groups service's answer, asked only once the rest is accepted
  const securityGroups = changedPortGroups(
    {
      current: {
        projectId: port.projectId,
        portSecurityEnabled: port.portSecurityEnabled,
        securityGroups: port.securityGroups,
        addressPairs: port.allowedAddressPairs,
      },
      portSecurityEnabled: c.portSecurityEnabled,
      securityGroups: c.securityGroups,
      addressPairs: pairs?.length,
      hasIp: fixedIps.length > 0,
    },
    command.groups,
  );
  if (c.portSecurityEnabled !== undefined) changes.portSecurityEnabled = c.portSecurityEnabled;
  if (securityGroups !== undefined) changes.securityGroups = securityGroups;
  if (pairs !== undefined) changes.allowedAddressPairs = pairs;
  return [{ type: 'PortUpdated', data: { portId: port.id, changes } }];
}

export const networkDecider: Decider<NetworkState, NetworkCommand, NetworkEvent> = {
  context: IPAM_CONTEXT,
  aggregate: IPAM_AGGREGATES.network,
  initialState: initialNetwork,
  initialStateFor: initialNetwork,
  evolve: evolveNetwork,
  decide,
  snapshot: { version: NETWORK_SNAPSHOT_VERSION, every: 500, toJSON: networkToJson, fromJSON: networkFromJson },
};
