import { randomUUID } from 'node:crypto';
import { ValidationError, isIdToken, type CommandMetadata } from '@ncp/contracts';
import { httpError } from '../http-edge';

export interface TenancyDefaults {
  readonly defaultProjectId: string;
  readonly defaultRoles: readonly string[];
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const badHeader = (name: string, value: string, why: string) => new ValidationError('API.HTTPBadRequest', `Invalid ${name} header '${value}': ${why}.`);

/** An identity header, when sent, must name something: never the empty project or user. */
function idHeader(headers: Headers, name: string, wire: string): string | undefined {
  const value = header(headers, name);
  if (value === undefined) return undefined;
  if (!isIdToken(value)) throw badHeader(wire, value, "expected an id of 1 to 255 letters, digits, '-' or '_'");
  return value;
}

/** Keystone role names as keystonemiddleware passes them: comma-separated, none empty. */
const ROLE = /^[A-Za-z0-9_.:-]{1,255}$/;
/** A user name is free text, but only printable text, one line. */
const USER_NAME = /^[^\p{Cc}\p{Cs}]{1,255}$/u;

/**
 * Who is asking: the project and roles keystonemiddleware would have set
 * (X-Project-Id, X-Roles), else the configured default project (`defaults`: with
 * authentication off only; with it on, the edge sets them from the token). The request id
 * (X-Openstack-Request-Id) becomes the correlation id of every event it causes.
 * A header that is sent but empty or malformed is refused (400), never taken as a
 * project `''` or no roles: the project id ends up in columns and subjects.
 */
export function commandMetadata(headers: Headers, defaults: TenancyDefaults | null, now = new Date()): CommandMetadata {
  const projectId = idHeader(headers, 'x-project-id', 'X-Project-Id') ?? idHeader(headers, 'x-tenant-id', 'X-Tenant-Id') ?? defaults?.defaultProjectId;
  // No defaults: the edge authenticated the request and set these headers from its token.
  if (projectId === undefined) throw httpError(401, 'HTTPUnauthorized', 'The request you have made requires authentication.');
  const rolesHeader = header(headers, 'x-roles');
  let roles = defaults?.defaultRoles ?? [];
  if (rolesHeader === '' && defaults === null) roles = [];
  else if (rolesHeader !== undefined) {
    roles = rolesHeader.split(',').map((r) => r.trim().toLowerCase());
    if (!roles.every((r) => ROLE.test(r))) throw badHeader('X-Roles', rolesHeader, 'expected role names separated by commas');
  }
  const userName = header(headers, 'x-user-name');
  if (userName !== undefined && !USER_NAME.test(userName)) throw badHeader('X-User-Name', userName, 'expected 1 to 255 printable characters');
  const expanded = withImpliedRoles(roles);
  return {
    now: now.toISOString(),
    correlationId: requestId(headers),
    causationId: null,
    projectId,
    actor: idHeader(headers, 'x-user-id', 'X-User-Id') ?? userName ?? `project:${projectId}`,
    isAdmin: expanded.includes('admin'),
    roles: expanded,
  };
}

/**
 * Keystone's default implied roles (admin implies member, member implies reader): a token lists
 * them already, headers set by hand may not, and the policy must decide the same for both.
 */
export function withImpliedRoles(roles: readonly string[]): readonly string[] {
  const all = new Set(roles);
  if (all.has('admin')) all.add('member');
  if (all.has('member')) all.add('reader');
  return [...all];
}

export function requestId(headers: Headers): string {
  const given = header(headers, 'x-openstack-request-id');
  return given && /^[\w.:-]{1,100}$/.test(given) ? given : `req-${randomUUID()}`;
}
