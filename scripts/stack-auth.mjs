// @ts-check
// How `npm run stack` (scripts/stack.mjs) tells its services to authenticate.

/**
 * The strategy from the user's environment: AUTH_STRATEGY as set, or keystone when only
 * KEYSTONE_URL is set; otherwise noauth, said explicitly (the services take no default: an
 * open API is never a fallback). `env` is what to add to the services' environment.
 *
 * @param {Record<string, string | undefined>} environment
 * @returns {{ strategy: string, env: Record<string, string> }}
 */
export function authStrategy(environment) {
  if (environment.AUTH_STRATEGY) return { strategy: environment.AUTH_STRATEGY, env: {} };
  if (environment.KEYSTONE_URL) return { strategy: 'keystone', env: { AUTH_STRATEGY: 'keystone' } };
  return { strategy: 'noauth', env: { AUTH_STRATEGY: 'noauth' } };
}
