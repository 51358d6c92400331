import {
  RBAC_WILDCARD,
  attributeEntryId,
  authorize,
  callerHasRole,
  enforce,
  legacyAttributeEntryId,
  rbacGrants,
  rbacGrantsAll,
  withAttributeEntry,
  type CommandMetadata,
  type RbacAction,
  type RbacEntry,
  type RbacEvent,
} from '@ncp/contracts';
import { conflict, invalidInput, notFound } from './rules';

/**
 * Neutron's rbac-policies, decided by the object they share (a network, a subnet pool, an
 * address scope), on its current entries and the resources that depend on them.
 */

export type RbacObjectType = 'network' | 'subnetpool' | 'address_scope';

export const RBAC_ACTIONS: Readonly<Record<RbacObjectType, readonly RbacAction[]>> = {
  network: ['access_as_shared', 'access_as_external'],
  subnetpool: ['access_as_shared'],
  address_scope: ['access_as_shared'],
};

/** The entries of an object whose `shared` attribute was set (a subnet pool, an address scope): a wildcard access_as_shared entry or none. */
export function withSharedEntry(
  object: { id: string; projectId: string; rbac: readonly RbacEntry[] },
  shared: boolean,
  sharedPolicyId: string | undefined,
): RbacEntry[] {
  const id = sharedPolicyId ?? legacyAttributeEntryId(object.id, 'access_as_shared');
  return withAttributeEntry(object.rbac, { action: 'access_as_shared', on: shared, id, ownerProject: object.projectId });
}

/** A new wildcard access_as_shared entry's id for an event that sets `shared: true`, unless the object is shared with every project already. */
export function sharedEntryIdFor(
  object: { id: string; revision: number; rbac: readonly RbacEntry[] },
  shared: boolean | undefined,
): { sharedPolicyId?: string } {
  return shared === true && !rbacGrantsAll(object.rbac, 'access_as_shared')
    ? { sharedPolicyId: attributeEntryId(object.id, 'access_as_shared', object.revision) }
    : {};
}

export type RbacCommand =
  | { type: 'CreateRbacPolicy'; id: string; policyId: string; action: RbacAction; targetProject: string; projectId: string }
  | { type: 'UpdateRbacPolicy'; id: string; policyId: string; targetProject: string }
  | { type: 'DeleteRbacPolicy'; id: string; policyId: string };

export const isRbacCommand = (c: { type: string }): c is RbacCommand =>
  c.type === 'CreateRbacPolicy' || c.type === 'UpdateRbacPolicy' || c.type === 'DeleteRbacPolicy';

export interface RbacObject {
  readonly objectType: RbacObjectType;
  readonly id: string;
  readonly projectId: string;
  readonly rbac: readonly RbacEntry[];
}

/**
 * What still depends on an access that some projects lose (`lost(project)`): a description of
 * it for Neutron's RbacPolicyInUse, or undefined when nothing does.
 */
export type AccessInUse = (action: RbacAction, lost: (project: string) => boolean) => string | undefined;

export const rbacPolicyNotFound = (policyId: string, objectType = 'unknown') =>
  notFound('RbacPolicyNotFound', `RBAC policy of type ${objectType} with ID ${policyId} not found`);

/**
 * The projects that lose `action` when the entries go from `before` to `after`: those the
 * changed entry named (every one for the wildcard), other than the owner, not granted any more.
 */
export function accessLost(owner: string, changedTarget: string, after: readonly RbacEntry[], action: RbacAction) {
  return (project: string) =>
    project !== owner && project !== '' && (changedTarget === RBAC_WILDCARD || changedTarget === project) && !rbacGrants(after, action, project);
}

/** Refuses when a dependent resource still uses an access that `after` takes away. */
export function checkAccessKept(
  object: RbacObject,
  changed: RbacEntry,
  after: readonly RbacEntry[],
  inUse: AccessInUse,
  error: (detail: string) => Error,
): void {
  const detail = inUse(changed.action, accessLost(object.projectId, changed.targetProject, after, changed.action));
  if (detail !== undefined) throw error(detail);
}

/** Neutron: entries on an object are its owner's to make and change, or an admin's. */
function ownedByCaller(object: RbacObject, meta: CommandMetadata): void {
  if (!callerHasRole(meta, 'admin') && object.projectId !== meta.projectId) {
    const what = object.objectType === 'network' ? 'networks' : 'objects';
    throw invalidInput(`Only admins can manipulate policies on ${what} they do not own`);
  }
}

function duplicate(entries: readonly RbacEntry[], action: RbacAction, targetProject: string, except?: string): boolean {
  return entries.some((e) => e.id !== except && e.action === action && e.targetProject === targetProject);
}

const duplicateError = () => conflict('DuplicateRbacPolicy', 'An RBAC policy already exists with those values.');
const inUseError = (objectId: string) => (detail: string) =>
  conflict('RbacPolicyInUse', `RBAC policy on object ${objectId} cannot be removed because other objects depend on it.\nDetails: ${detail}`);

/** The decision on an RBAC command, once the object is known to exist and to be seen by the caller. */
export function decideRbac(command: RbacCommand, object: RbacObject, meta: CommandMetadata, inUse: AccessInUse): readonly [RbacEvent] {
  if (command.type === 'CreateRbacPolicy') {
    enforce('IPAM', 'create_rbac_policy', meta, { projectId: command.projectId });
    if (command.targetProject === RBAC_WILDCARD)
      enforce('IPAM', 'create_rbac_policy:target_tenant', meta, { projectId: command.projectId, wildcardTarget: true });
    if (!RBAC_ACTIONS[object.objectType].includes(command.action)) {
      throw invalidInput(
        `Invalid action '${command.action}' for object type '${object.objectType}'. Valid actions: ${RBAC_ACTIONS[object.objectType].join(', ')}`,
      );
    }
    ownedByCaller(object, meta);
    if (object.rbac.some((e) => e.id === command.policyId)) throw conflict('RbacPolicyExists', `RBAC policy ${command.policyId} already exists.`);
    if (duplicate(object.rbac, command.action, command.targetProject)) throw duplicateError();
    const { policyId, action, targetProject, projectId } = command;
    return [{ type: 'RbacPolicyCreated', data: { policyId, action, targetProject, projectId } }];
  }
  const entry = object.rbac.find((e) => e.id === command.policyId);
  if (!entry || !authorize('get_rbac_policy', meta, { projectId: entry.projectId })) throw rbacPolicyNotFound(command.policyId, object.objectType);
  if (command.type === 'UpdateRbacPolicy') {
    enforce('IPAM', 'update_rbac_policy', meta, { projectId: entry.projectId });
    if (command.targetProject === RBAC_WILDCARD) {
      enforce('IPAM', 'update_rbac_policy:target_tenant', meta, { projectId: entry.projectId, wildcardTarget: true });
    }
    ownedByCaller(object, meta);
    if (command.targetProject === entry.targetProject) return [{ type: 'RbacPolicyUpdated', data: { policyId: entry.id, targetProject: entry.targetProject } }];
    if (duplicate(object.rbac, entry.action, command.targetProject, entry.id)) throw duplicateError();
    const after = object.rbac.map((e) => (e.id === entry.id ? { ...e, targetProject: command.targetProject } : e));
    checkAccessKept(object, entry, after, inUse, inUseError(object.id));
    return [{ type: 'RbacPolicyUpdated', data: { policyId: entry.id, targetProject: command.targetProject } }];
  }
  enforce('IPAM', 'delete_rbac_policy', meta, { projectId: entry.projectId });
  checkAccessKept(
    object,
    entry,
    object.rbac.filter((e) => e.id !== entry.id),
    inUse,
    inUseError(object.id),
  );
  return [{ type: 'RbacPolicyDeleted', data: { policyId: entry.id } }];
}
