import { randomUUID } from 'node:crypto';
import { type CommandMetadata } from '@ncp/contracts';

export interface TenancyDefaults {
  readonly defaultProjectId: string;
  readonly defaultRoles: readonly string[];
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Who is asking: the project and roles keystonemiddleware would have set
 * (X-Project-Id, X-Roles), else the configured default project. The request id
 * (X-Openstack-Request-Id) becomes the correlation id of every event it causes.
 */
export function commandMetadata(headers: Headers, defaults: TenancyDefaults, now = new Date()): CommandMetadata {
  const projectId = header(headers, 'x-project-id') ?? header(headers, 'x-tenant-id') ?? defaults.defaultProjectId;
  const rolesHeader = header(headers, 'x-roles');
  const roles = rolesHeader !== undefined ? rolesHeader.split(',').map((r) => r.trim().toLowerCase()) : defaults.defaultRoles;
  return {
    now: now.toISOString(),
    correlationId: requestId(headers),
    causationId: null,
    projectId,
    actor: header(headers, 'x-user-id') ?? header(headers, 'x-user-name') ?? `project:${projectId}`,
    isAdmin: roles.includes('admin'),
  };
}

export function requestId(headers: Headers): string {
  const given = header(headers, 'x-openstack-request-id');
  return given && /^[\w.:-]{1,100}$/.test(given) ? given : `req-${randomUUID()}`;
}
