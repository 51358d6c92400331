import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { type Logger } from '../logger';
import { type Identity, TokenRefused, cacheTtlMs, identityOfToken } from './keystone-token';

export interface KeystoneSettings {
  /** Keystone's v3 API, e.g. http://keystone:5000/v3 */
  readonly url: string;
  /** The service's own user, which validates the tokens of its callers. */
  readonly username: string;
  readonly password: string;
  readonly projectName: string;
  readonly userDomainName: string;
  readonly projectDomainName: string;
  readonly cacheTtlMs: number;
  readonly cacheSize: number;
  readonly timeoutMs?: number;
}

/** Keystone could not be asked (down, slow, or refusing our own credentials): never a reason to let a request through. */
export class KeystoneUnavailable extends Error {}

type Fetch = typeof fetch;

/** A token string never stays in memory as a key: its digest does. */
const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Validates callers' tokens against Keystone as keystonemiddleware does: `GET /v3/auth/tokens`
 * with the service's own token, answers cached for a bounded time (and never past the token's
 * expiry), concurrent validations of one token sharing one request.
 */
export class KeystoneAuth {
  private readonly cache: LRUCache<string, Identity>;
  private readonly pending = new Map<string, Promise<Identity>>();
  private serviceToken: { value: string; renewAt: number } | undefined;
  private serviceLogin: Promise<string> | undefined;

  constructor(
    private readonly settings: KeystoneSettings,
    private readonly logger: Logger,
    private readonly fetchFn: Fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new LRUCache({ max: Math.max(1, settings.cacheSize), ttlAutopurge: false });
  }

  get url(): string {
    return this.settings.url;
  }

  /** How long one request to Keystone may take. */
  get timeoutMs(): number {
    return this.settings.timeoutMs ?? 30_000;
  }

  /** The identity of a token, or TokenRefused (401) or KeystoneUnavailable (503). */
  async identify(token: string): Promise<Identity> {
    const key = digest(token);
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) return cached;
    let validation = this.pending.get(key);
    if (!validation) {
      validation = this.validate(token).finally(() => this.pending.delete(key));
      this.pending.set(key, validation);
    }
    const identity = await validation;
    const ttl = cacheTtlMs(identity, this.now(), this.settings.cacheTtlMs);
    if (ttl > 0) this.cache.set(key, identity, { ttl });
    return identity;
  }

  private async validate(token: string, retried = false): Promise<Identity> {
    const res = await this.call(`${this.settings.url}/auth/tokens`, {
      headers: { 'X-Auth-Token': await this.ownToken(), 'X-Subject-Token': token },
    });
    if (res.ok) return identityOfToken(await res.json());
    if (res.status === 404 || res.status === 400) throw new TokenRefused('The token is not valid: it is unknown, expired or revoked.');
    if (res.status === 401 && !retried) {
      // our own token expired early or was revoked: log in again, once
      this.serviceToken = undefined;
      return this.validate(token, true);
    }
    this.logger.error({ status: res.status, body: await res.text().catch(() => '') }, 'Keystone refused to validate a token with our service credentials');
    throw new KeystoneUnavailable(`Keystone answered ${res.status} to a token validation.`);
  }

  private async ownToken(): Promise<string> {
    const held = this.serviceToken;
    if (held && held.renewAt > this.now()) return held.value;
    this.serviceLogin ??= this.login().finally(() => (this.serviceLogin = undefined));
    return this.serviceLogin;
  }

  private async login(): Promise<string> {
    const s = this.settings;
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: s.username, domain: { name: s.userDomainName }, password: s.password } } },
        scope: { project: { name: s.projectName, domain: { name: s.projectDomainName } } },
      },
    };
    const res = await this.call(`${s.url}/auth/tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const value = res.headers.get('x-subject-token');
    if (res.status !== 201 || !value) {
      this.logger.error({ status: res.status, user: s.username, project: s.projectName }, 'Keystone refused our service credentials');
      throw new KeystoneUnavailable(`Keystone refused the service's credentials (${res.status}).`);
    }
    const now = this.now();
    const parsed = Date.parse(((await res.json()) as { token?: { expires_at?: string } }).token?.expires_at ?? '');
    const lifetime = Number.isNaN(parsed) ? 0 : parsed - now;
    // renewed a minute (or half its life, if shorter) before it expires: a validation never carries a token about to lapse
    this.serviceToken = { value, renewAt: now + lifetime - Math.min(60_000, lifetime / 2) };
    return value;
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      this.logger.error({ err, url }, 'Keystone could not be reached');
      throw new KeystoneUnavailable('Keystone could not be reached.');
    }
  }
}
