import { IPAM_AGGREGATES, IPAM_CONTEXT, withEntry, withoutEntry, type CommandMetadata, type RegistryEvent, type Segment } from '@ncp/contracts';
import { type Decider } from '@ncp/eventstore';
import { conflict, invalidInput } from './rules';

/**
 * The registry holds what must be unique across the whole deployment and is changed
 * rarely: segmentation ids (VXLAN VNIs, VLANs per physical network, flat physical
 * networks) and the default subnet pool of each IP family.
 */
export interface RegistryState {
  readonly segments: ReadonlyMap<string, Segment>;
  readonly defaultPools: Readonly<Partial<Record<4 | 6, string>>>;
}

/** How segments are chosen; comes from configuration with every command. */
export interface SegmentPolicy {
  /** The type of a network created without provider attributes. */
  readonly tenantNetworkType: 'vxlan' | 'vlan' | 'flat' | 'local';
  readonly vxlanRange: readonly [number, number];
  readonly vlanRanges: Readonly<Record<string, readonly [number, number]>>;
  /** Physical networks that exist; `*` accepts any name. */
  readonly physicalNetworks: readonly string[];
}

export interface SegmentRequest {
  readonly networkType?: Segment['networkType'];
  readonly physicalNetwork?: string | null;
  readonly segmentationId?: number | null;
}

export type RegistryCommand =
  | { type: 'ReserveSegment'; networkId: string; request: SegmentRequest; policy: SegmentPolicy }
  | { type: 'ReleaseSegment'; networkId: string }
  | { type: 'ClaimDefaultSubnetPool'; ipVersion: 4 | 6; subnetPoolId: string }
  | { type: 'ReleaseDefaultSubnetPool'; ipVersion: 4 | 6; subnetPoolId: string };

export function initialRegistry(): RegistryState {
  return { segments: new Map(), defaultPools: {} };
}

function evolve(state: RegistryState, event: RegistryEvent): RegistryState {
  switch (event.type) {
    case 'SegmentReserved':
      return { ...state, segments: withEntry(state.segments, event.data.networkId, event.data.segment) };
    case 'SegmentReleased':
      return { ...state, segments: withoutEntry(state.segments, event.data.networkId) };
    case 'DefaultSubnetPoolClaimed':
      return { ...state, defaultPools: { ...state.defaultPools, [event.data.ipVersion]: event.data.subnetPoolId } };
    case 'DefaultSubnetPoolReleased': {
      const defaultPools = { ...state.defaultPools };
      delete defaultPools[event.data.ipVersion];
      return { ...state, defaultPools };
    }
  }
}

const MAX_VNI = 16_777_215;
const MAX_VLAN = 4094;

function knownPhysnet(policy: SegmentPolicy, name: string): boolean {
  return policy.physicalNetworks.includes('*') || policy.physicalNetworks.includes(name) || name in policy.vlanRanges;
}

function inUse(state: Readonly<RegistryState>, match: (s: Segment) => boolean): boolean {
  for (const s of state.segments.values()) if (match(s)) return true;
  return false;
}

/** The lowest id in [min, max] that no segment of the same kind uses. */
function firstFree(min: number, max: number, used: ReadonlySet<number>): number | null {
  for (let id = min; id <= max; id++) if (!used.has(id)) return id;
  return null;
}

export function chooseSegment(state: Readonly<RegistryState>, request: SegmentRequest, policy: SegmentPolicy): Segment {
  const type = request.networkType ?? policy.tenantNetworkType;
  const physnet = request.physicalNetwork ?? null;
  const segId = request.segmentationId ?? null;
  switch (type) {
    case 'local':
      if (physnet !== null || segId !== null) invalid('local', 'takes neither physical_network nor segmentation_id');
      return { networkType: 'local', physicalNetwork: null, segmentationId: null };
    case 'flat': {
      if (segId !== null) invalid('flat', 'takes no segmentation_id');
      if (physnet === null) invalid('flat', 'requires physical_network');
      if (!knownPhysnet(policy, physnet)) invalid('flat', `physical_network '${physnet}' unknown`);
      if (inUse(state, (s) => s.networkType === 'flat' && s.physicalNetwork === physnet)) {
        throw conflict('FlatNetworkInUse', `Unable to create the flat network. Physical network ${physnet} is in use.`);
      }
      return { networkType: 'flat', physicalNetwork: physnet, segmentationId: null };
    }
    case 'vlan': {
      const candidates = physnet !== null ? [physnet] : Object.keys(policy.vlanRanges).sort();
      if (physnet !== null && !knownPhysnet(policy, physnet)) invalid('vlan', `physical_network '${physnet}' unknown`);
      if (segId !== null) {
        if (physnet === null) invalid('vlan', 'segmentation_id requires physical_network');
        if (!Number.isInteger(segId) || segId < 1 || segId > MAX_VLAN) invalid('vlan', `segmentation_id out of range (1 through ${MAX_VLAN})`);
        if (inUse(state, (s) => s.networkType === 'vlan' && s.physicalNetwork === physnet && s.segmentationId === segId)) {
          throw conflict('VlanIdInUse', `Unable to create the network. The VLAN ${segId} on physical network ${physnet} is in use.`);
        }
        return { networkType: 'vlan', physicalNetwork: physnet, segmentationId: segId };
      }
      for (const net of candidates) {
        const range = policy.vlanRanges[net];
        if (!range) continue;
        const used = new Set(
          [...state.segments.values()].filter((s) => s.networkType === 'vlan' && s.physicalNetwork === net).map((s) => s.segmentationId ?? 0),
        );
        const id = firstFree(range[0], range[1], used);
        if (id !== null) return { networkType: 'vlan', physicalNetwork: net, segmentationId: id };
      }
      throw noNetworkAvailable();
    }
    case 'vxlan': {
      if (physnet !== null) invalid('vxlan', 'takes no physical_network');
      if (segId !== null) {
        if (!Number.isInteger(segId) || segId < 1 || segId > MAX_VNI) invalid('vxlan', `segmentation_id out of range (1 through ${MAX_VNI})`);
        if (inUse(state, (s) => s.networkType === 'vxlan' && s.segmentationId === segId)) {
          throw conflict('TunnelIdInUse', `Unable to create the network. The tunnel ID ${segId} is in use.`);
        }
        return { networkType: 'vxlan', physicalNetwork: null, segmentationId: segId };
      }
      const used = new Set([...state.segments.values()].filter((s) => s.networkType === 'vxlan').map((s) => s.segmentationId ?? 0));
      const id = firstFree(policy.vxlanRange[0], policy.vxlanRange[1], used);
      if (id === null) throw noNetworkAvailable();
      return { networkType: 'vxlan', physicalNetwork: null, segmentationId: id };
    }
  }
}

function invalid(type: string, why: string): never {
  throw invalidInput(`provider:network_type ${type} ${why}`);
}

function noNetworkAvailable() {
  return conflict('NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
}

function decide(command: RegistryCommand, state: Readonly<RegistryState>, _meta: CommandMetadata): readonly [] | readonly [RegistryEvent] {
  switch (command.type) {
    case 'ReserveSegment': {
      // Idempotent: a saga step retried after a crash finds its reservation.
      if (state.segments.has(command.networkId)) return [];
      const segment = chooseSegment(state, command.request, command.policy);
      return [{ type: 'SegmentReserved', data: { networkId: command.networkId, segment } }];
    }
    case 'ReleaseSegment':
      return state.segments.has(command.networkId) ? [{ type: 'SegmentReleased', data: { networkId: command.networkId } }] : [];
    case 'ClaimDefaultSubnetPool': {
      const current = state.defaultPools[command.ipVersion];
      if (current === command.subnetPoolId) return [];
      if (current !== undefined) {
        throw invalidInput(`A default subnetpool for this IP family has already been set (${current}). Only one default may exist per IP family`);
      }
      return [{ type: 'DefaultSubnetPoolClaimed', data: { ipVersion: command.ipVersion, subnetPoolId: command.subnetPoolId } }];
    }
    case 'ReleaseDefaultSubnetPool':
      return state.defaultPools[command.ipVersion] === command.subnetPoolId
        ? [{ type: 'DefaultSubnetPoolReleased', data: { ipVersion: command.ipVersion, subnetPoolId: command.subnetPoolId } }]
        : [];
  }
}

export const registryDecider: Decider<RegistryState, RegistryCommand, RegistryEvent> = {
  context: IPAM_CONTEXT,
  aggregate: IPAM_AGGREGATES.registry,
  initialState: initialRegistry,
  evolve,
  decide,
};
