import { type HttpException } from '@nestjs/common';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config';
import { commandMetadata } from '../neutron/request-context';
import { authConfigShape } from './config';
import { authenticationMiddleware, authenticationOf, type Authentication } from './authentication';
import { KeystoneAuth, KeystoneUnavailable, type KeystoneSettings } from './keystone-auth';
import { TokenRefused, cacheTtlMs, identityOfToken, isIdentityHeader } from './keystone-token';
import { z } from 'zod';

const logger = pino({ level: 'silent' });
const HOUR = 3_600_000;

function tokenBody(expiresAt: number, project: object | null = { id: 'p-demo', name: 'demo', domain: { id: 'default' } }) {
  return {
    token: {
      expires_at: new Date(expiresAt).toISOString(),
      user: { id: 'u-alice', name: 'alice' },
      ...(project ? { project } : {}),
      roles: [
        { id: 'r1', name: 'Member' },
        { id: 'r2', name: 'reader' },
        { id: 'r3', name: 'has space' },
      ],
    },
  };
}

describe('what a Keystone token says', () => {
  it('gives the project, user and roles (lower case, only names a policy can name)', () => {
    expect(identityOfToken(tokenBody(1_000_000))).toEqual({
      projectId: 'p-demo',
      projectName: 'demo',
      projectDomainId: 'default',
      userId: 'u-alice',
      userName: 'alice',
      roles: ['member', 'reader'],
      expiresAt: 1_000_000,
    });
  });

  it('refuses a token scoped to no project', () => {
    expect(() => identityOfToken(tokenBody(1_000_000, null))).toThrow(TokenRefused);
  });

  it('is believed for the configured time, never past the expiry', () => {
    const identity = identityOfToken(tokenBody(10_000));
    expect(cacheTtlMs(identity, 0, 300_000)).toBe(10_000);
    expect(cacheTtlMs(identity, 9_000, 300)).toBe(300);
    expect(cacheTtlMs(identity, 20_000, 300_000)).toBe(0);
  });

  it.each([
    'X-Project-Id',
    'x-roles',
    'X-Tenant-Id',
    'X-Tenant-Name',
    'X-User-Id',
    'X-User-Name',
    'X-Identity-Status',
    'X-Service-Roles',
    'X-Domain-Id',
    'X-Is-Admin-Project',
    'X-Role',
    'X-User',
    'X-System-Scope',
  ])('takes %s for an identity header a client may not send', (name) => expect(isIdentityHeader(name)).toBe(true));

  it.each(['X-Auth-Token', 'X-Openstack-Request-Id', 'Content-Type', 'X-Forwarded-For', 'X-Instance-ID', 'X-Instance-ID-Signature', 'If-Match'])(
    'leaves %s alone',
    (name) => expect(isIdentityHeader(name)).toBe(false),
  );
});

const settings: KeystoneSettings = {
  url: 'http://keystone.test/v3',
  username: 'neutron',
  password: 'secret',
  projectName: 'service',
  userDomainName: 'Default',
  projectDomainName: 'Default',
  cacheTtlMs: 300_000,
  cacheSize: 100,
};

/** A Keystone that knows the tokens in `valid`, counting the validations it answers. */
function fakeKeystone(clock: { now: number }, valid: Map<string, number>) {
  const calls = { logins: 0, validations: 0 };
  let serviceTokens = 0;
  let currentServiceToken = '';
  const fetchFn = (async (url: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (init.method === 'POST') {
      calls.logins++;
      currentServiceToken = `svc-${++serviceTokens}`;
      return new Response(JSON.stringify({ token: { expires_at: new Date(clock.now + HOUR).toISOString() } }), {
        status: 201,
        headers: { 'X-Subject-Token': currentServiceToken },
      });
    }
    expect(url).toBe('http://keystone.test/v3/auth/tokens');
    if (headers.get('x-auth-token') !== currentServiceToken) return new Response('', { status: 401 });
    calls.validations++;
    const expiresAt = valid.get(headers.get('x-subject-token') ?? '');
    if (expiresAt === undefined || expiresAt <= clock.now) return new Response('', { status: 404 });
    return new Response(JSON.stringify(tokenBody(expiresAt)), { status: 200 });
  }) as typeof fetch;
  return { fetchFn, calls, expireServiceToken: () => (currentServiceToken = 'revoked') };
}

describe('validating tokens against Keystone', () => {
  it('asks Keystone once per token while the cache holds it, with its own token', async () => {
    const clock = { now: 0 };
    const keystone = fakeKeystone(clock, new Map([['t-alice', HOUR]]));
    const auth = new KeystoneAuth(settings, logger, keystone.fetchFn, () => clock.now);
    const [first, second] = await Promise.all([auth.identify('t-alice'), auth.identify('t-alice')]);
    expect(first.projectId).toBe('p-demo');
    expect(second).toEqual(first);
    await auth.identify('t-alice');
    expect(keystone.calls).toEqual({ logins: 1, validations: 1 });
  });

  it('does not serve a cached identity past its token expiry: Keystone says then that it expired', async () => {
    const clock = { now: 0 };
    const keystone = fakeKeystone(clock, new Map([['t-short', 1_000]]));
    const auth = new KeystoneAuth(settings, logger, keystone.fetchFn, () => clock.now);
    await auth.identify('t-short');
    clock.now = 1_000;
    await expect(auth.identify('t-short')).rejects.toThrow(TokenRefused);
    expect(keystone.calls.validations).toBe(2);
  });

  it('refuses an unknown (revoked, expired) token', async () => {
    const keystone = fakeKeystone({ now: 0 }, new Map());
    await expect(new KeystoneAuth(settings, logger, keystone.fetchFn).identify('t-forged')).rejects.toThrow(TokenRefused);
  });

  it('logs in again, once, when Keystone no longer takes its own token', async () => {
    const clock = { now: 0 };
    const keystone = fakeKeystone(
      clock,
      new Map([
        ['t-a', HOUR],
        ['t-b', HOUR],
      ]),
    );
    const auth = new KeystoneAuth(settings, logger, keystone.fetchFn, () => clock.now);
    await auth.identify('t-a');
    keystone.expireServiceToken();
    expect((await auth.identify('t-b')).userId).toBe('u-alice');
    expect(keystone.calls.logins).toBe(2);
  });

  it('renews its own token before it lapses', async () => {
    const clock = { now: 0 };
    const keystone = fakeKeystone(
      clock,
      new Map([
        ['t-a', 10 * HOUR],
        ['t-b', 10 * HOUR],
      ]),
    );
    const auth = new KeystoneAuth(settings, logger, keystone.fetchFn, () => clock.now);
    await auth.identify('t-a');
    clock.now = HOUR - 30_000;
    await auth.identify('t-b');
    expect(keystone.calls.logins).toBe(2);
  });

  it('is unavailable, never permissive, when Keystone cannot be reached or refuses our credentials', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    await expect(new KeystoneAuth(settings, logger, down).identify('t')).rejects.toThrow(KeystoneUnavailable);
    const refusing = (async () => new Response('', { status: 401 })) as typeof fetch;
    await expect(new KeystoneAuth(settings, logger, refusing).identify('t')).rejects.toThrow(KeystoneUnavailable);
    const failing = (async (_url: string, init: RequestInit = {}) =>
      init.method === 'POST'
        ? new Response(JSON.stringify({ token: { expires_at: new Date(Date.now() + HOUR).toISOString() } }), {
            status: 201,
            headers: { 'X-Subject-Token': 's' },
          })
        : new Response('', { status: 500 })) as typeof fetch;
    await expect(new KeystoneAuth(settings, logger, failing).identify('t')).rejects.toThrow(KeystoneUnavailable);
  });

  it('gives each request to Keystone the configured time (KEYSTONE_TIMEOUT_SECONDS), then is unavailable', async () => {
    const given: number[] = [];
    // a Keystone that never answers: the request ends only when its signal aborts
    const silent = ((_url: string, init: RequestInit = {}) => {
      const signal = init.signal as AbortSignal;
      const started = Date.now();
      return new Promise<Response>((_resolve, reject) =>
        signal.addEventListener('abort', () => {
          given.push(Date.now() - started);
          reject(signal.reason as Error);
        }),
      );
    }) as typeof fetch;
    await expect(new KeystoneAuth({ ...settings, timeoutMs: 1000 }, logger, silent).identify('t')).rejects.toThrow(KeystoneUnavailable);
    expect(given).toHaveLength(1);
    expect(given[0]).toBeGreaterThanOrEqual(900);
    const keystoneOf = (env: Record<string, string>) => {
      const auth = authenticationOf(config({ KEYSTONE_URL: 'http://k/v3', KEYSTONE_USERNAME: 'n', KEYSTONE_PASSWORD: 'p', ...env }), logger);
      if (auth.strategy !== 'keystone') throw new Error('expected keystone');
      return auth.keystone;
    };
    expect(keystoneOf({ KEYSTONE_TIMEOUT_SECONDS: '7' }).timeoutMs).toBe(7000);
    expect(keystoneOf({}).timeoutMs).toBe(30_000);
  });
});

const config = (env: Record<string, string>) => z.object(authConfigShape).parse(env);

describe('choosing the authentication', () => {
  it('is Keystone unless noauth is written down, and Keystone needs its settings', () => {
    expect(() => authenticationOf(config({}), logger)).toThrow(ConfigError);
    expect(() => authenticationOf(config({}), logger)).toThrow(/KEYSTONE_URL, KEYSTONE_USERNAME, KEYSTONE_PASSWORD/);
    expect(authenticationOf(config({ AUTH_STRATEGY: 'noauth' }), logger).strategy).toBe('noauth');
    const keystone = authenticationOf(config({ KEYSTONE_URL: 'http://ks:5000/', KEYSTONE_USERNAME: 'neutron', KEYSTONE_PASSWORD: 'pw' }), logger);
    expect(keystone.strategy === 'keystone' && keystone.keystone.url).toBe('http://ks:5000/v3');
  });
});

interface Outcome {
  error?: HttpException;
  headers: Record<string, string | string[] | undefined>;
  answered: Record<string, string>;
}

async function through(auth: Authentication, url: string, headers: Record<string, string>): Promise<Outcome> {
  const req = { url, headers: { ...headers } as Record<string, string | string[] | undefined> };
  const answered: Record<string, string> = {};
  const error = await new Promise<unknown>((resolve) =>
    authenticationMiddleware(auth, /^\/latest(\/|$)/)(req, { setHeader: (n, v) => (answered[n] = v) }, resolve),
  );
  return { error: error as HttpException | undefined, headers: req.headers, answered };
}

describe('the edge', () => {
  const clock = { now: 0 };
  const keystone = fakeKeystone(clock, new Map([['t-alice', HOUR]]));
  const auth: Authentication = { strategy: 'keystone', keystone: new KeystoneAuth(settings, logger, keystone.fetchFn, () => clock.now) };
  const forged = { 'x-project-id': 'p-victim', 'x-roles': 'admin', 'x-user-id': 'root', 'x-tenant-id': 'p-victim' };

  it('sets the identity from the token, whatever identity headers came with it', async () => {
    const { error, headers } = await through(auth, '/v2.0/networks', { 'x-auth-token': 't-alice', ...forged });
    expect(error).toBeUndefined();
    expect(headers).toMatchObject({ 'x-project-id': 'p-demo', 'x-roles': 'member,reader', 'x-user-id': 'u-alice', 'x-identity-status': 'Confirmed' });
    expect(headers['x-tenant-id']).toBeUndefined();
    expect(commandMetadata(headers, null)).toMatchObject({ projectId: 'p-demo', isAdmin: false, roles: ['member', 'reader'], actor: 'u-alice' });
  });

  it('answers 401 without a token or with a bad one, saying where tokens come from', async () => {
    const none = await through(auth, '/v2.0/ports?limit=1', forged);
    expect(none.error?.getStatus()).toBe(401);
    expect(none.error?.getResponse()).toMatchObject({ NeutronError: { type: 'HTTPUnauthorized' } });
    expect(none.answered['WWW-Authenticate']).toBe('Keystone uri="http://keystone.test"');
    expect((await through(auth, '/v2.0/ports', { 'x-auth-token': 'forged' })).error?.getStatus()).toBe(401);
  });

  it('answers 503 when Keystone cannot say', async () => {
    const down: Authentication = { strategy: 'keystone', keystone: new KeystoneAuth(settings, logger, async () => Promise.reject(new TypeError('down'))) };
    const { error } = await through(down, '/v2.0/networks', { 'x-auth-token': 't-alice' });
    expect(error?.getStatus()).toBe(503);
    expect(error?.getResponse()).toMatchObject({ NeutronError: { type: 'HTTPServiceUnavailable' } });
  });

  it('lets the open paths and the service-guarded ones through without a token, stripped of identity headers', async () => {
    for (const url of ['/', '/healthz', '/metrics', '/docs/openapi.json', '/latest/meta-data/instance-id']) {
      const { error, headers } = await through(auth, url, forged);
      expect(error, url).toBeUndefined();
      expect(headers['x-project-id'], url).toBeUndefined();
    }
    expect((await through(auth, '/v2.0', {})).error?.getStatus()).toBe(401);
    expect((await through(auth, '/v2.0/extensions', {})).error?.getStatus()).toBe(401);
  });

  it('without authentication (noauth), passes the headers on as they came', async () => {
    const { error, headers } = await through({ strategy: 'noauth' }, '/v2.0/networks', forged);
    expect(error).toBeUndefined();
    expect(headers).toEqual(forged);
  });
});
