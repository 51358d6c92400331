import { type CommandMetadata } from '../envelope';
import { ForbiddenError } from '../errors';
import { NEUTRON_RULES, type PolicyAction, type PolicyContext, type PolicyRole } from './rules';

/**
 * Decisions of Neutron's default policy (rules.ts) for a caller and a target. Pure: the
 * adapters say who the caller is (CommandMetadata) and what the target is, including what is
 * shared with or external for this caller; nothing here reads a database.
 */

/** Who asks: a request's metadata, or a service's own (no roles: it may do everything). */
export type PolicyCaller = Pick<CommandMetadata, 'projectId' | 'isAdmin' | 'roles'>;

/** What the rules look at in the resource. Only what a rule needs must be given. */
export interface PolicyTarget {
  /** The resource's project (for a create: the project it is created for). */
  readonly projectId?: string;
  /** Ports and subnets: the project owning their network. */
  readonly networkProjectId?: string;
  /** Security group rules: the project owning their group. */
  readonly securityGroupProjectId?: string;
  /** The resource (or a port's or subnet's network) is shared with the caller's project. */
  readonly sharedWithCaller?: boolean;
  /** The network (or a subnet's network) is external for the caller's project. */
  readonly externalForCaller?: boolean;
  /** Ports: the device owner asked for (create) or set (update). */
  readonly deviceOwner?: string | null;
  /** RBAC entries: the entry grants every project (`target_tenant: *`). */
  readonly wildcardTarget?: boolean;
}

/**
 * Whether the caller holds a role, with the roles Keystone implies (admin > manager > member >
 * reader), so that a decision does not depend on whether the token listed them. Metadata
 * without roles is either a service's own (`isAdmin`: placement, reactions, agents), which
 * holds every role, or from before roles were carried, which is a project member's.
 */
export function callerHasRole(caller: PolicyCaller, r: PolicyRole): boolean {
  const roles = caller.roles ?? (caller.isAdmin ? undefined : ['member']);
  if (roles === undefined) return true;
  const has = (x: string) => roles.includes(x);
  const admin = caller.isAdmin || has('admin');
  switch (r) {
    case 'admin':
      return admin;
    case 'manager':
      return admin || has('manager');
    case 'member':
      return admin || has('manager') || has('member');
    case 'reader':
      return admin || has('manager') || has('member') || has('reader');
    default:
      return has(r);
  }
}

function contextOf(caller: PolicyCaller, target: PolicyTarget): PolicyContext {
  return {
    hasRole: (r: PolicyRole) => callerHasRole(caller, r),
    owner: target.projectId !== undefined && target.projectId === caller.projectId,
    networkOwner: target.networkProjectId !== undefined && target.networkProjectId === caller.projectId,
    sgOwner: target.securityGroupProjectId !== undefined && target.securityGroupProjectId === caller.projectId,
    shared: target.sharedWithCaller === true,
    external: target.externalForCaller === true,
    networkDevice: typeof target.deviceOwner === 'string' && target.deviceOwner.startsWith('network:'),
    wildcardTarget: target.wildcardTarget === true,
  };
}

export function isPolicyAction(name: string): name is PolicyAction {
  return Object.prototype.hasOwnProperty.call(NEUTRON_RULES, name);
}

/** Whether Neutron's default policy allows `action` to this caller on this target. */
export function authorize(action: PolicyAction, caller: PolicyCaller, target: PolicyTarget = {}): boolean {
  const check = NEUTRON_RULES[action];
  return check(contextOf(caller, target));
}

/** Neutron's 403 for a rule that fails: `PolicyNotAuthorized`, naming the rule. */
export function policyNotAuthorized(service: string, rule: string): ForbiddenError {
  return new ForbiddenError(`${service}.PolicyNotAuthorized`, `rule:${rule} is disallowed by policy`);
}

/** `authorize`, or Neutron's 403 (error code prefix `service`). */
export function enforce(service: string, action: PolicyAction, caller: PolicyCaller, target: PolicyTarget = {}): void {
  if (!authorize(action, caller, target)) throw policyNotAuthorized(service, action);
}

/**
 * The attribute rules of a create or update, as Neutron builds them: for every attribute the
 * request sets (`attributesSet`), `<action>:<attribute>` and, for the keys inside it,
 * `<action>:<attribute>:<key>`, where such a rule exists. The first that fails is a 403 naming
 * it (after the action itself).
 */
export function enforceAttributes(service: string, action: PolicyAction, caller: PolicyCaller, target: PolicyTarget, attributes: readonly string[]): void {
  enforce(service, action, caller, target);
  const refused = refusedAttribute(action, caller, target, attributes);
  if (refused !== undefined) throw policyNotAuthorized(service, refused);
}

/** The first `<action>:<attribute>` rule that fails for the attributes set, if any. */
export function refusedAttribute(action: PolicyAction, caller: PolicyCaller, target: PolicyTarget, attributes: readonly string[]): string | undefined {
  for (const attribute of attributes) {
    const rule = `${action}:${attribute}`;
    if (isPolicyAction(rule) && !authorize(rule, caller, target)) return rule;
  }
  return undefined;
}

/**
 * The attributes a request body sets, in the names the attribute rules use: every key whose
 * value is given, and for an object (or a list of objects) its keys as `<key>:<sub-key>`. On a
 * create, an attribute given its default value counts as not set (Neutron's
 * `_is_attribute_explicitly_set`): `shared: false` needs no admin.
 */
export function attributesSet(body: Readonly<Record<string, unknown>>, defaults: Readonly<Record<string, unknown>> = {}): string[] {
  const set: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (key in defaults && defaults[key] === value) continue;
    set.push(key);
    const items: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
    const subKeys = new Set<string>();
    for (const item of items) {
      if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
        for (const [sub, v] of Object.entries(item as Record<string, unknown>)) if (v !== undefined) subKeys.add(sub);
      }
    }
    for (const sub of subKeys) set.push(`${key}:${sub}`);
  }
  return set;
}

/** Neutron's defaults for the create attributes that have an admin-only rule. */
export const CREATE_DEFAULTS = {
  network: { shared: false, 'router:external': false, is_default: false, port_security_enabled: true },
  subnetpool: { shared: false, is_default: false },
  address_scope: { shared: false },
} as const;

/**
 * Which of a resource's wire attributes the caller may read: Neutron drops from a GET answer
 * every attribute whose `get_<resource>:<attribute>` rule fails.
 */
export function hiddenAttributes(resource: string, caller: PolicyCaller, target: PolicyTarget, attributes: Iterable<string>): string[] {
  const hidden: string[] = [];
  for (const attribute of attributes) {
    const rule = `get_${resource}:${attribute}`;
    if (isPolicyAction(rule) && !authorize(rule, caller, target)) hidden.push(attribute);
  }
  return hidden;
}

/**
 * Which rows a `get_<resource>` rule lets the caller see, as the relations a query can filter
 * on: every row, or those the caller's project owns, whose network it owns, whose security
 * group it owns, that are shared with it, or that are external for it. The rules are unions of
 * (roles and one relation), so trying each relation alone gives exactly the rows allowed.
 */
export interface ReadScope {
  readonly all: boolean;
  readonly owner: boolean;
  readonly networkOwner: boolean;
  readonly sgOwner: boolean;
  readonly shared: boolean;
  readonly external: boolean;
}

export function readScope(action: PolicyAction, caller: PolicyCaller): ReadScope {
  const p = caller.projectId;
  const allows = (target: PolicyTarget) => authorize(action, caller, target);
  return {
    all: allows({}),
    owner: allows({ projectId: p }),
    networkOwner: allows({ networkProjectId: p }),
    sgOwner: allows({ securityGroupProjectId: p }),
    shared: allows({ sharedWithCaller: true }),
    external: allows({ externalForCaller: true }),
  };
}
