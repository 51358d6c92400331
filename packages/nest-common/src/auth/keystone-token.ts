import { z } from 'zod';

/**
 * What a Keystone v3 token says about its bearer, as keystonemiddleware hands it on: the
 * project, user and roles. Pure: the HTTP side is keystone-auth.ts.
 */
export interface Identity {
  readonly projectId: string;
  readonly projectName: string;
  readonly projectDomainId: string;
  readonly userId: string;
  readonly userName: string;
  /** Lower case, as Neutron's policy compares them; Keystone lists implied roles already. */
  readonly roles: readonly string[];
  readonly expiresAt: number;
}

export class TokenRefused extends Error {}

const named = z.object({ id: z.string().min(1), name: z.string() });
const tokenBody = z.object({
  token: z.object({
    expires_at: z.string(),
    user: named,
    project: named.extend({ domain: z.object({ id: z.string().min(1) }) }).optional(),
    roles: z.array(named).optional(),
  }),
});

/** Role names our request context takes (X-Roles); a role outside them cannot be one a policy names. */
const ROLE_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;

/** The identity of a token Keystone answered for; a token scoped to no project is refused. */
export function identityOfToken(body: unknown): Identity {
  const parsed = tokenBody.safeParse(body);
  if (!parsed.success) throw new Error(`Keystone answered a token validation with an unexpected body: ${parsed.error.message}`);
  const { token } = parsed.data;
  if (!token.project) throw new TokenRefused('The token is not scoped to a project: this API needs a project-scoped token.');
  const expiresAt = Date.parse(token.expires_at);
  if (Number.isNaN(expiresAt)) throw new Error(`Keystone answered a token expiring at '${token.expires_at}'`);
  return {
    projectId: token.project.id,
    projectName: token.project.name,
    projectDomainId: token.project.domain.id,
    userId: token.user.id,
    userName: token.user.name,
    roles: [...new Set((token.roles ?? []).map((r) => r.name.toLowerCase()).filter((r) => ROLE_NAME.test(r)))],
    expiresAt,
  };
}

/** How long an identity may be served from the cache: the configured time, never past the token's expiry. */
export function cacheTtlMs(identity: Identity, now: number, maxTtlMs: number): number {
  return Math.max(0, Math.min(maxTtlMs, identity.expiresAt - now));
}

/**
 * The identity headers a client may not send (keystonemiddleware's list and the legacy
 * names): with authentication on, only the token speaks for the caller.
 */
export function isIdentityHeader(name: string): boolean {
  return /^x-(identity-status|service-|domain-|project-|user-|user$|tenant|role|is-admin-project|system-scope)/.test(name.toLowerCase());
}

/** The headers the request context reads, as the validated token states them. */
export function identityHeaders(identity: Identity): Record<string, string> {
  return {
    'x-identity-status': 'Confirmed',
    'x-project-id': identity.projectId,
    'x-project-name': identity.projectName,
    'x-project-domain-id': identity.projectDomainId,
    'x-user-id': identity.userId,
    'x-user-name': identity.userName,
    'x-roles': identity.roles.join(','),
  };
}
