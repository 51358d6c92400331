import { type RbacAction, type RbacEvent } from '../ipam/events';
import { stableUuid } from '../stable-id';

/**
 * Neutron's RBAC entries, as the object they share holds them (a network, a subnet pool, an
 * address scope): pure reads and folds, used alike by deciders, projections and the services
 * that mirror the object.
 */
export interface RbacEntry {
  readonly id: string;
  readonly action: RbacAction;
  /** A project, or `*` for every project. */
  readonly targetProject: string;
  /** The project owning the entry (who may see, change and delete it). */
  readonly projectId: string;
}

export const RBAC_WILDCARD = '*';

/** Whether an entry grants `action` to `project` (by name, or by the wildcard). */
export function rbacGrants(entries: readonly RbacEntry[], action: RbacAction, project: string): boolean {
  return entries.some((e) => e.action === action && (e.targetProject === RBAC_WILDCARD || e.targetProject === project));
}

/** Whether `action` is granted to every project. */
export const rbacGrantsAll = (entries: readonly RbacEntry[], action: RbacAction): boolean => rbacGrants(entries, action, RBAC_WILDCARD);

/**
 * The id of the wildcard entry that an event written before RBAC made with `shared: true`
 * (access_as_shared) or `router:external: true` (access_as_external): such events carry no
 * entry id, so it is derived from the object, the same on every replay.
 */
export const legacyAttributeEntryId = (objectId: string, action: RbacAction): string => stableUuid(`ncp-rbac:${objectId}/${action}`);

/** The id of the wildcard entry an attribute makes now: derived from the object and its revision, so a retried command makes the same one. */
export const attributeEntryId = (objectId: string, action: RbacAction, revision: number): string => stableUuid(`ncp-rbac:${objectId}/${action}/r${revision}`);

/**
 * The entries after an attribute (`shared`, `router:external`) was set. On: a wildcard entry
 * (`id`) unless there is one. Off: the action's wildcard entries go, or with `allTargets`
 * every entry of the action (Neutron's `router:external: false`).
 */
export function withAttributeEntry(
  entries: readonly RbacEntry[],
  change: { action: RbacAction; on: boolean; id: string; ownerProject: string; allTargets?: boolean },
): RbacEntry[] {
  const { action } = change;
  if (!change.on) return entries.filter((e) => !(e.action === action && (change.allTargets === true || e.targetProject === RBAC_WILDCARD)));
  if (rbacGrantsAll(entries, action)) return [...entries];
  return [...entries, { id: change.id, action, targetProject: RBAC_WILDCARD, projectId: change.ownerProject }];
}

/** Folds an RBAC event into the object's entries. */
export function evolveRbac(entries: readonly RbacEntry[], event: RbacEvent): RbacEntry[] {
  switch (event.type) {
    case 'RbacPolicyCreated': {
      const d = event.data;
      return [...entries, { id: d.policyId, action: d.action, targetProject: d.targetProject, projectId: d.projectId }];
    }
    case 'RbacPolicyUpdated':
      return entries.map((e) => (e.id === event.data.policyId ? { ...e, targetProject: event.data.targetProject } : e));
    case 'RbacPolicyDeleted':
      return entries.filter((e) => e.id !== event.data.policyId);
  }
}

/** The RBAC events, by type (for folds that take every event of an aggregate). */
export const isRbacEvent = (e: { type: string }): e is RbacEvent =>
  e.type === 'RbacPolicyCreated' || e.type === 'RbacPolicyUpdated' || e.type === 'RbacPolicyDeleted';
