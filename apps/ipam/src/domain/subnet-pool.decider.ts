import {
  IPAM_AGGREGATES,
  IPAM_CONTEXT,
  evolveRbac,
  rbacGrantsAll,
  withEntry,
  withoutEntry,
  type CommandMetadata,
  type RbacEntry,
  type SubnetPoolEvent,
} from '@ncp/contracts';
import { type Decider } from '@ncp/eventstore';
import {
  allocatePrefix,
  checkSpecificPrefix,
  cidrContainsCidr,
  cidrSize,
  cidrToRange,
  formatCidr,
  mergeCidrs,
  rangeToCidrs,
  subtractRanges,
  type Cidr,
  type IpAddress,
} from '@ncp/netaddr';
import { decideRbac, isRbacCommand, sharedEntryIdFor, withSharedEntry, type RbacCommand } from './rbac';
import { badRequest, canSee, checkRevision, mayChange, ownedTarget, cidrInput, conflict, invalidInput, maxPrefixLength, notFound } from './rules';

/**
 * A subnet pool owns the prefixes handed out to subnets: no two subnets taken from it
 * overlap, and a project stays within the pool's quota.
 */
export interface SubnetPoolAllocation {
  readonly cidr: Cidr;
  readonly networkId: string;
  readonly projectId: string;
}

export interface SubnetPoolState {
  readonly id: string;
  readonly exists: boolean;
  readonly projectId: string;
  readonly ipVersion: 4 | 6;
  readonly prefixes: readonly Cidr[];
  readonly defaultPrefixLength: number;
  readonly minPrefixLength: number;
  readonly maxPrefixLength: number;
  readonly defaultQuota: number | null;
  readonly shared: boolean;
  readonly isDefault: boolean;
  readonly addressScopeId: string | null;
  readonly revision: number;
  /** Its RBAC entries; `shared` is a wildcard access_as_shared among them. */
  readonly rbac: readonly RbacEntry[];
  /** Allocations by subnet id. */
  readonly allocations: ReadonlyMap<string, SubnetPoolAllocation>;
}

export interface SubnetPoolAttributes {
  name: string;
  description: string;
  defaultPrefixLength: number;
  minPrefixLength: number;
  maxPrefixLength: number;
  defaultQuota: number | null;
  shared: boolean;
  isDefault: boolean;
  addressScopeId: string | null;
}

export type SubnetPoolUpdate = Partial<Omit<SubnetPoolAttributes, 'shared'>> & { prefixes?: readonly string[] };

export type SubnetPoolCommand =
  | { type: 'CreateSubnetPool'; id: string; projectId: string; prefixes: readonly string[]; attributes: SubnetPoolAttributes }
  | { type: 'UpdateSubnetPool'; id: string; changes: SubnetPoolUpdate; expectedRevision?: number }
  | { type: 'AddPrefixes'; id: string; prefixes: readonly string[] }
  | { type: 'RemovePrefixes'; id: string; prefixes: readonly string[] }
  | { type: 'DeleteSubnetPool'; id: string }
  /**
   * Takes a prefix for a subnet: the given cidr, or the first free one of `prefixLength`
   * (default: the pool's) containing `mustContain`. Idempotent per subnet id.
   */
  | {
      type: 'AllocatePrefix';
      id: string;
      subnetId: string;
      networkId: string;
      projectId: string;
      cidr?: string;
      prefixLength?: number;
      mustContain?: readonly IpAddress[];
    }
  | { type: 'ReleasePrefix'; id: string; subnetId: string }
  | RbacCommand;

export function initialSubnetPool(id = ''): SubnetPoolState {
  return {
    id,
    rbac: [],
    exists: false,
    projectId: '',
    ipVersion: 4,
    prefixes: [],
    defaultPrefixLength: 0,
    minPrefixLength: 0,
    maxPrefixLength: 0,
    defaultQuota: null,
    shared: false,
    isDefault: false,
    addressScopeId: null,
    revision: 0,
    allocations: new Map(),
  };
}

/** Neutron's defaults when a pool is created without bounds. */
export function defaultPrefixBounds(version: 4 | 6): { min: number; max: number } {
  return version === 4 ? { min: 8, max: 32 } : { min: 64, max: 128 };
}

/** Merges overlapping and adjacent prefixes into the fewest CIDRs, as Neutron compacts them. */
export const compactPrefixes = mergeCidrs;

/** Quota units: addresses for IPv4, /64s for IPv6 (Neutron's convention). */
function quotaUnits(cidr: Cidr): bigint {
  return cidr.version === 4 ? cidrSize(cidr) : cidrSize(cidr) >> 64n;
}

function evolve(state: SubnetPoolState, event: SubnetPoolEvent): SubnetPoolState {
  switch (event.type) {
    case 'SubnetPoolCreated': {
      const d = event.data;
      return {
        ...state,
        exists: true,
        projectId: d.projectId,
        ipVersion: d.ipVersion,
        prefixes: d.prefixes.map((p) => cidrInput('prefixes', p)),
        defaultPrefixLength: d.defaultPrefixLength,
        minPrefixLength: d.minPrefixLength,
        maxPrefixLength: d.maxPrefixLength,
        defaultQuota: d.defaultQuota,
        shared: d.shared,
        isDefault: d.isDefault,
        addressScopeId: d.addressScopeId,
        revision: 1,
        rbac: withSharedEntry({ ...state, projectId: d.projectId, rbac: [] }, d.shared, d.sharedPolicyId),
      };
    }
    case 'RbacPolicyCreated':
    case 'RbacPolicyUpdated':
    case 'RbacPolicyDeleted': {
      const rbac = evolveRbac(state.rbac, event);
      return { ...state, rbac, shared: rbacGrantsAll(rbac, 'access_as_shared') };
    }
    case 'SubnetPoolUpdated': {
      const c = event.data.changes;
      return {
        ...state,
        defaultPrefixLength: c.defaultPrefixLength ?? state.defaultPrefixLength,
        minPrefixLength: c.minPrefixLength ?? state.minPrefixLength,
        maxPrefixLength: c.maxPrefixLength ?? state.maxPrefixLength,
        defaultQuota: c.defaultQuota !== undefined ? c.defaultQuota : state.defaultQuota,
        isDefault: c.isDefault ?? state.isDefault,
        addressScopeId: c.addressScopeId !== undefined ? c.addressScopeId : state.addressScopeId,
        revision: state.revision + 1,
      };
    }
    case 'SubnetPoolPrefixesChanged':
      return { ...state, prefixes: event.data.prefixes.map((p) => cidrInput('prefixes', p)), revision: state.revision + 1 };
    case 'SubnetPoolPrefixAllocated': {
      const allocation = { cidr: cidrInput('cidr', event.data.cidr), networkId: event.data.networkId, projectId: event.data.projectId };
      return { ...state, allocations: withEntry(state.allocations, event.data.subnetId, allocation) };
    }
    case 'SubnetPoolPrefixReleased':
      return { ...state, allocations: withoutEntry(state.allocations, event.data.subnetId) };
    case 'SubnetPoolDeleted':
      return { ...state, exists: false, revision: state.revision + 1 };
  }
}

function parsePrefixes(version: 4 | 6 | null, texts: readonly string[]): Cidr[] {
  const cidrs = texts.map((t) => cidrInput('prefixes', t));
  const first = cidrs[0];
  const expected = version ?? first?.version;
  for (const c of cidrs) {
    if (c.version !== expected) {
      throw invalidInput(`Illegal prefix bounds: prefixes of a subnet pool must all be IPv${expected}, ${formatCidr(c)} is not`);
    }
  }
  return cidrs;
}

function validateBounds(version: 4 | 6, min: number, max: number, def: number): void {
  const bits = maxPrefixLength(version);
  for (const [name, value] of [
    ['min_prefixlen', min],
    ['max_prefixlen', max],
    ['default_prefixlen', def],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > bits) {
      throw badRequest(`Invalid input for ${name}. Reason: ${value} is not in range 0 through ${bits}.`);
    }
  }
  if (min > max) throw invalidInput(`min_prefixlen ${min} cannot be greater than max_prefixlen ${max}`);
  if (def < min || def > max) {
    throw invalidInput(`Illegal prefix bounds: default_prefixlen ${def} must be between min_prefixlen ${min} and max_prefixlen ${max}`);
  }
}

function decide(command: SubnetPoolCommand, state: Readonly<SubnetPoolState>, meta: CommandMetadata): readonly [] | readonly [SubnetPoolEvent] {
  if (command.type === 'CreateSubnetPool') {
    if (state.exists || state.revision > 0) throw conflict('SubnetPoolExists', `Subnet pool ${command.id} already exists.`);
    if (command.prefixes.length === 0) throw badRequest('Invalid input for prefixes. Reason: a subnet pool needs at least one prefix.');
    const parsed = parsePrefixes(null, command.prefixes);
    const version = parsed[0]?.version ?? 4;
    const prefixes = compactPrefixes(parsed);
    const a = command.attributes;
    validateBounds(version, a.minPrefixLength, a.maxPrefixLength, a.defaultPrefixLength);
    if (a.defaultQuota !== null && (!Number.isInteger(a.defaultQuota) || a.defaultQuota < 0)) {
      throw badRequest(`Invalid input for default_quota. Reason: '${a.defaultQuota}' must be a non-negative integer.`);
    }
    return [
      {
        type: 'SubnetPoolCreated',
        data: {
          projectId: command.projectId,
          ipVersion: version,
          prefixes: prefixes.map(formatCidr),
          ...a,
          ...sharedEntryIdFor({ ...state, id: command.id }, a.shared),
        },
      },
    ];
  }
  const missing = () => notFound('SubnetPoolNotFound', `Subnet pool ${command.id} could not be found.`);
  if (!state.exists || !canSee(meta, 'get_subnetpool', ownedTarget(state, meta))) throw missing();
  // Neutron: a pool's sharing is in use while a project that would lose it has subnets from the pool.
  if (isRbacCommand(command)) {
    return decideRbac(command, { objectType: 'subnetpool', ...state }, meta, (_action, lost) => {
      const used = [...state.allocations].find(([, a]) => lost(a.projectId));
      return used === undefined ? undefined : `subnet ${used[0]} of project ${used[1].projectId} was allocated from it`;
    });
  }
  const may = (action: 'update_subnetpool' | 'add_prefixes' | 'remove_prefixes' | 'delete_subnetpool') =>
    mayChange(meta, 'get_subnetpool', action, ownedTarget(state, meta), missing);
  switch (command.type) {
    case 'UpdateSubnetPool': {
      may('update_subnetpool');
      checkRevision(state.revision, command.expectedRevision);
      const { prefixes: prefixTexts, ...changes } = command.changes;
      if (prefixTexts !== undefined) {
        // Neutron lets an update only grow the pool; the new list must cover the old one.
        const next = compactPrefixes(parsePrefixes(state.ipVersion, prefixTexts));
        const covered = state.prefixes.every((old) => next.some((n) => cidrContainsCidr(n, old)));
        if (!covered) {
          throw badRequest(
            `Illegal update to prefixes: ${next.map(formatCidr).join(', ')} must include the existing prefixes ${state.prefixes.map(formatCidr).join(', ')}; use remove_prefixes to shrink the pool.`,
          );
        }
        if (Object.keys(changes).length > 0) {
          throw badRequest('Update prefixes apart from other attributes (one change per request).');
        }
        return prefixesChanged(state, next);
      }
      const min = changes.minPrefixLength ?? state.minPrefixLength;
      const max = changes.maxPrefixLength ?? state.maxPrefixLength;
      const def = changes.defaultPrefixLength ?? state.defaultPrefixLength;
      validateBounds(state.ipVersion, min, max, def);
      if (changes.addressScopeId !== undefined && changes.addressScopeId !== state.addressScopeId && state.allocations.size > 0) {
        throw conflict(
          'SubnetPoolInUse',
          `Unable to complete operation on subnet pool ${command.id}. The address scope of a pool with allocated subnets cannot change.`,
        );
      }
      const effective = Object.fromEntries(
        Object.entries(changes).filter(([k, v]) => v !== undefined && v !== (state as unknown as Record<string, unknown>)[k]),
      );
      return [{ type: 'SubnetPoolUpdated', data: { changes: effective } }];
    }
    case 'AddPrefixes': {
      may('add_prefixes');
      const next = compactPrefixes([...state.prefixes, ...parsePrefixes(state.ipVersion, command.prefixes)]);
      return prefixesChanged(state, next);
    }
    case 'RemovePrefixes': {
      may('remove_prefixes');
      const removed = parsePrefixes(state.ipVersion, command.prefixes);
      for (const r of removed) {
        const inUse = [...state.allocations.values()].find((a) => cidrContainsCidr(r, a.cidr) || cidrContainsCidr(a.cidr, r));
        if (inUse) {
          throw badRequest(`Illegal update to prefixes: prefix ${formatCidr(r)} is in use by subnet ${formatCidr(inUse.cidr)}`);
        }
      }
      const removedRanges = removed.map(cidrToRange);
      const next = subtractRanges(state.prefixes.map(cidrToRange), removedRanges).flatMap(rangeToCidrs);
      return prefixesChanged(state, next);
    }
    case 'DeleteSubnetPool': {
      may('delete_subnetpool');
      if (state.allocations.size > 0) {
        throw conflict(
          'SubnetPoolInUse',
          `Unable to complete operation on subnet pool ${command.id}. ${state.allocations.size} subnet(s) are allocated from it.`,
        );
      }
      return [{ type: 'SubnetPoolDeleted', data: {} }];
    }
    case 'AllocatePrefix':
      return allocate(command, state);
    case 'ReleasePrefix': {
      const allocation = state.allocations.get(command.subnetId);
      if (!allocation) return [];
      return [{ type: 'SubnetPoolPrefixReleased', data: { subnetId: command.subnetId, cidr: formatCidr(allocation.cidr) } }];
    }
  }
}

function prefixesChanged(state: Readonly<SubnetPoolState>, next: readonly Cidr[]): readonly [] | readonly [SubnetPoolEvent] {
  if (next.map(formatCidr).join() === state.prefixes.map(formatCidr).join()) return [];
  return [{ type: 'SubnetPoolPrefixesChanged', data: { prefixes: next.map(formatCidr) } }];
}

function allocate(command: Extract<SubnetPoolCommand, { type: 'AllocatePrefix' }>, state: Readonly<SubnetPoolState>): readonly [] | readonly [SubnetPoolEvent] {
  const existing = state.allocations.get(command.subnetId);
  if (existing) return [];
  const allocated = [...state.allocations.values()].map((a) => a.cidr);
  let cidr: Cidr;
  if (command.cidr !== undefined) {
    cidr = cidrInput('cidr', command.cidr);
    checkLength(state, cidr.prefixLength);
    const check = checkSpecificPrefix({ poolPrefixes: state.prefixes, allocated, cidr });
    if (!check.ok) {
      throw conflict('SubnetAllocationError', `Failed to allocate subnet: ${check.message}.`);
    }
  } else {
    const prefixLength = command.prefixLength ?? state.defaultPrefixLength;
    checkLength(state, prefixLength);
    const found = allocatePrefix({ poolPrefixes: state.prefixes, allocated, prefixLength, mustContain: command.mustContain ?? [] });
    if (!found) {
      const why = command.mustContain?.length
        ? `no free /${prefixLength} in the pool contains the requested gateway and allocation pools`
        : `insufficient prefix space to allocate subnet size /${prefixLength}`;
      throw conflict('SubnetAllocationError', `Failed to allocate subnet: ${why}.`);
    }
    cidr = found;
  }
  if (state.defaultQuota !== null) {
    const used = [...state.allocations.values()].filter((a) => a.projectId === command.projectId).reduce((sum, a) => sum + quotaUnits(a.cidr), 0n);
    if (used + quotaUnits(cidr) > BigInt(state.defaultQuota)) {
      throw conflict(
        'SubnetPoolQuotaExceeded',
        `Per-tenant subnet pool prefix quota exceeded: ${command.projectId} would use ${used + quotaUnits(cidr)} of ${state.defaultQuota}.`,
      );
    }
  }
  return [
    {
      type: 'SubnetPoolPrefixAllocated',
      data: { subnetId: command.subnetId, networkId: command.networkId, projectId: command.projectId, cidr: formatCidr(cidr) },
    },
  ];
}

function checkLength(state: Readonly<SubnetPoolState>, length: number): void {
  if (!Number.isInteger(length) || length < state.minPrefixLength || length > state.maxPrefixLength) {
    throw badRequest(
      `Unable to allocate subnet with prefix length ${length}, minimum allowed prefix is ${state.minPrefixLength}, maximum allowed prefix is ${state.maxPrefixLength}.`,
    );
  }
}

export const subnetPoolDecider: Decider<SubnetPoolState, SubnetPoolCommand, SubnetPoolEvent> = {
  context: IPAM_CONTEXT,
  aggregate: IPAM_AGGREGATES.subnetPool,
  initialState: initialSubnetPool,
  initialStateFor: initialSubnetPool,
  evolve,
  decide,
};
