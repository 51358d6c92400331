import { IPAM_AGGREGATES, IPAM_CONTEXT, evolveRbac, rbacGrantsAll, type AddressScopeEvent, type CommandMetadata, type RbacEntry } from '@ncp/contracts';
import { decideRbac, isRbacCommand, sharedEntryIdFor, withSharedEntry, type RbacCommand } from './rbac';
import { type Decider } from '@ncp/eventstore';
import { cidrsOverlap, formatCidr, type Cidr } from '@ncp/netaddr';
import { canSee, checkRevision, mayChange, ownedTarget, cidrInput, conflict, invalidInput, notFound } from './rules';

/**
 * An address scope owns the rule "no two subnet pools in the scope overlap": every pool
 * that joins claims its prefixes here first.
 */
export interface AddressScopeState {
  readonly id: string;
  readonly exists: boolean;
  readonly projectId: string;
  readonly ipVersion: 4 | 6;
  readonly shared: boolean;
  readonly revision: number;
  /** Its RBAC entries; `shared` is a wildcard access_as_shared among them. */
  readonly rbac: readonly RbacEntry[];
  /** Prefixes claimed per subnet pool. */
  readonly claims: ReadonlyMap<string, readonly Cidr[]>;
}

export type AddressScopeCommand =
  | { type: 'CreateAddressScope'; id: string; projectId: string; name: string; ipVersion: 4 | 6; shared: boolean }
  | { type: 'UpdateAddressScope'; id: string; changes: { name?: string; shared?: boolean }; expectedRevision?: number }
  | { type: 'DeleteAddressScope'; id: string }
  /** Checks visibility and overlap; idempotent for prefixes the pool already claims. */
  | { type: 'ClaimPrefixes'; id: string; subnetPoolId: string; ipVersion: 4 | 6; prefixes: readonly string[] }
  | { type: 'ReleasePrefixes'; id: string; subnetPoolId: string; prefixes: readonly string[] }
  | RbacCommand;

export function initialAddressScope(id = ''): AddressScopeState {
  return { id, exists: false, projectId: '', ipVersion: 4, shared: false, revision: 0, rbac: [], claims: new Map() };
}

function evolve(state: AddressScopeState, event: AddressScopeEvent): AddressScopeState {
  switch (event.type) {
    case 'AddressScopeCreated': {
      const d = event.data;
      const rbac = withSharedEntry({ ...state, projectId: d.projectId, rbac: [] }, d.shared, d.sharedPolicyId);
      return { ...state, exists: true, projectId: d.projectId, ipVersion: d.ipVersion, shared: d.shared, rbac, revision: 1 };
    }
    case 'AddressScopeUpdated': {
      const shared = event.data.changes.shared;
      const rbac = shared === undefined ? state.rbac : withSharedEntry(state, shared, event.data.sharedPolicyId);
      return { ...state, rbac, shared: rbacGrantsAll(rbac, 'access_as_shared'), revision: state.revision + 1 };
    }
    case 'RbacPolicyCreated':
    case 'RbacPolicyUpdated':
    case 'RbacPolicyDeleted': {
      const rbac = evolveRbac(state.rbac, event);
      return { ...state, rbac, shared: rbacGrantsAll(rbac, 'access_as_shared') };
    }
    case 'AddressScopeDeleted':
      return { ...state, exists: false, revision: state.revision + 1 };
    case 'AddressScopePrefixesClaimed': {
      const claims = new Map(state.claims);
      const mine = claims.get(event.data.subnetPoolId) ?? [];
      claims.set(event.data.subnetPoolId, [...mine, ...event.data.prefixes.map((p) => cidrInput('prefixes', p))]);
      return { ...state, claims };
    }
    case 'AddressScopePrefixesReleased': {
      const claims = new Map(state.claims);
      const released = new Set(event.data.prefixes);
      const left = (claims.get(event.data.subnetPoolId) ?? []).filter((c) => !released.has(formatCidr(c)));
      if (left.length > 0) claims.set(event.data.subnetPoolId, left);
      else claims.delete(event.data.subnetPoolId);
      return { ...state, claims };
    }
  }
}

function decide(command: AddressScopeCommand, state: Readonly<AddressScopeState>, meta: CommandMetadata): readonly [] | readonly [AddressScopeEvent] {
  if (command.type === 'CreateAddressScope') {
    if (state.exists || state.revision > 0) throw conflict('AddressScopeExists', `Address scope ${command.id} already exists.`);
    return [
      {
        type: 'AddressScopeCreated',
        data: {
          projectId: command.projectId,
          name: command.name,
          ipVersion: command.ipVersion,
          shared: command.shared,
          ...sharedEntryIdFor({ ...state, id: command.id }, command.shared),
        },
      },
    ];
  }
  const missing = () => notFound('AddressScopeNotFound', `Address scope ${command.id} could not be found.`);
  if (!state.exists || !canSee(meta, 'get_address_scope', ownedTarget(state, meta))) throw missing();
  // Which projects' pools sit in the scope, the scope does not hold: its sharing is never refused as in use.
  if (isRbacCommand(command)) return decideRbac(command, { objectType: 'address_scope', ...state }, meta, () => undefined);
  switch (command.type) {
    case 'UpdateAddressScope': {
      mayChange(meta, 'get_address_scope', 'update_address_scope', ownedTarget(state, meta), missing);
      checkRevision(state.revision, command.expectedRevision);
      if (command.changes.shared === false && state.shared) {
        throw conflict('AddressScopeUpdateError', `Unable to update address scope ${command.id} : Shared address scope can't be unshared.`);
      }
      return [{ type: 'AddressScopeUpdated', data: { changes: command.changes, ...sharedEntryIdFor(state, command.changes.shared) } }];
    }
    case 'DeleteAddressScope': {
      mayChange(meta, 'get_address_scope', 'delete_address_scope', ownedTarget(state, meta), missing);
      if (state.claims.size > 0) {
        throw conflict(
          'AddressScopeInUse',
          `Unable to complete operation on address scope ${command.id}. There are one or more subnet pools in use on the address scope.`,
        );
      }
      return [{ type: 'AddressScopeDeleted', data: {} }];
    }
    case 'ClaimPrefixes': {
      if (command.ipVersion !== state.ipVersion) {
        throw invalidInput(
          `Illegal subnetpool association: subnetpool ${command.subnetPoolId} cannot be associated with address scope ${command.id} because subnetpool ip_version is not ${state.ipVersion}`,
        );
      }
      const mine = new Set((state.claims.get(command.subnetPoolId) ?? []).map(formatCidr));
      const wanted = command.prefixes.map((p) => cidrInput('prefixes', p)).filter((c) => !mine.has(formatCidr(c)));
      if (wanted.length === 0) return [];
      for (const [poolId, prefixes] of state.claims) {
        if (poolId === command.subnetPoolId) continue;
        for (const theirs of prefixes) {
          const clash = wanted.find((w) => cidrsOverlap(w, theirs));
          if (clash) {
            throw invalidInput(
              `Illegal subnetpool association: subnetpool ${command.subnetPoolId} cannot be associated with address scope ${command.id}: prefix ${formatCidr(clash)} overlaps ${formatCidr(theirs)} of subnetpool ${poolId}`,
            );
          }
        }
      }
      return [{ type: 'AddressScopePrefixesClaimed', data: { subnetPoolId: command.subnetPoolId, prefixes: wanted.map(formatCidr) } }];
    }
    case 'ReleasePrefixes': {
      const mine = new Set((state.claims.get(command.subnetPoolId) ?? []).map(formatCidr));
      const released = command.prefixes.filter((p) => mine.has(p));
      if (released.length === 0) return [];
      return [{ type: 'AddressScopePrefixesReleased', data: { subnetPoolId: command.subnetPoolId, prefixes: released } }];
    }
  }
}

export const addressScopeDecider: Decider<AddressScopeState, AddressScopeCommand, AddressScopeEvent> = {
  context: IPAM_CONTEXT,
  aggregate: IPAM_AGGREGATES.addressScope,
  initialState: initialAddressScope,
  initialStateFor: initialAddressScope,
  evolve,
  decide,
};
