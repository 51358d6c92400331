import { ConfigError } from '../config';
import { httpError } from '../http-edge';
import { type Logger } from '../logger';
import { KeystoneAuth, KeystoneUnavailable } from './keystone-auth';
import { TokenRefused, identityHeaders, isIdentityHeader } from './keystone-token';
import { type AuthConfig } from './config';

/** How requests are authenticated: by Keystone, or (an explicit choice) not at all. */
export type Authentication = { readonly strategy: 'noauth' } | { readonly strategy: 'keystone'; readonly keystone: KeystoneAuth };

export function authenticationOf(config: AuthConfig, logger: Logger): Authentication {
  if (config.AUTH_STRATEGY === 'noauth') {
    logger.warn('AUTH_STRATEGY=noauth: this API is OPEN. Requests are not authenticated and act as whatever X-Project-Id and X-Roles they carry.');
    return { strategy: 'noauth' };
  }
  const missing = (['KEYSTONE_URL', 'KEYSTONE_USERNAME', 'KEYSTONE_PASSWORD'] as const).filter((k) => config[k] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      `invalid configuration: AUTH_STRATEGY=keystone (the default) needs ${missing.join(', ')}; set AUTH_STRATEGY=noauth for an API without authentication (development and tests only)`,
    );
  }
  const url = (config.KEYSTONE_URL ?? '').replace(/\/+$/, '');
  return {
    strategy: 'keystone',
    keystone: new KeystoneAuth(
      {
        url: url.endsWith('/v3') ? url : `${url}/v3`,
        username: config.KEYSTONE_USERNAME ?? '',
        password: config.KEYSTONE_PASSWORD ?? '',
        projectName: config.KEYSTONE_PROJECT_NAME,
        userDomainName: config.KEYSTONE_USER_DOMAIN_NAME,
        projectDomainName: config.KEYSTONE_PROJECT_DOMAIN_NAME,
        cacheTtlMs: config.TOKEN_CACHE_TTL_SECONDS * 1000,
        cacheSize: config.TOKEN_CACHE_SIZE,
        timeoutMs: config.KEYSTONE_TIMEOUT_SECONDS * 1000,
      },
      logger,
    ),
  };
}

/** Paths every service answers without a token: version discovery, health, metrics, API docs. */
const OPEN_PATHS = /^\/(healthz|metrics|docs)?(\/.*)?$/;
const isOpenPath = (path: string) => path === '/' || (OPEN_PATHS.test(path) && !path.startsWith('/v2.0'));

interface RequestLike {
  url: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ResponseLike {
  setHeader(name: string, value: string): void;
}

const unauthorized = (detail: string) => httpError(401, 'HTTPUnauthorized', 'The request you have made requires authentication.', detail);

/**
 * The edge's authentication, ahead of every route: with Keystone, identity headers a client
 * sent are dropped and, once the token is valid, set from it (the request context reads
 * them); without a valid token nothing but the open paths (and `publicPath`, e.g. the
 * metadata service's own signed paths) is reached. With noauth, requests pass as they are.
 */
export function authenticationMiddleware(auth: Authentication, publicPath?: RegExp) {
  return (req: RequestLike, res: ResponseLike, next: (err?: unknown) => void): void => {
    if (auth.strategy === 'noauth') return next();
    for (const name of Object.keys(req.headers)) if (isIdentityHeader(name)) delete req.headers[name];
    const path = req.url.split('?')[0] ?? '';
    if (isOpenPath(path) || publicPath?.test(path)) return next();
    const given = req.headers['x-auth-token'];
    const token = Array.isArray(given) ? given[0] : given;
    if (!token) {
      // where the client gets a token, as keystonemiddleware says it
      res.setHeader('WWW-Authenticate', `Keystone uri="${auth.keystone.url.replace(/\/v3$/, '')}"`);
      return next(unauthorized('No X-Auth-Token was sent.'));
    }
    auth.keystone.identify(token).then(
      (identity) => {
        Object.assign(req.headers, identityHeaders(identity));
        next();
      },
      (err: unknown) => {
        if (err instanceof TokenRefused) return next(unauthorized(err.message));
        next(
          httpError(
            503,
            'HTTPServiceUnavailable',
            'The identity service could not validate the token; try again later.',
            err instanceof KeystoneUnavailable ? err.message : '',
          ),
        );
      },
    );
  };
}
