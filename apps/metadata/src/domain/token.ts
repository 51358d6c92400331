import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * IMDSv2 session tokens: `<payload>.<mac>`, payload = base64url JSON {i: instance id, e: expiry
 * in ms since the epoch}, mac = base64url HMAC-SHA256 of the payload with the service's token
 * key. Stateless: any replica verifies it, and a token is only good for the instance it was
 * issued to, until it expires.
 */
export const TOKEN_TTL = { min: 1, max: 21600 } as const;

const mac = (key: string, payload: string) => createHmac('sha256', key).update(payload).digest('base64url');

export function issueToken(key: string, instanceId: string, ttlSeconds: number, now: number): string {
  const payload = Buffer.from(JSON.stringify({ i: instanceId, e: now + ttlSeconds * 1000 })).toString('base64url');
  return `${payload}.${mac(key, payload)}`;
}

export type TokenCheck = { ok: true } | { ok: false; reason: string };

export function verifyToken(key: string, token: string, instanceId: string, now: number): TokenCheck {
  const [payload = '', signature = '', ...rest] = token.split('.');
  if (rest.length > 0 || payload === '' || signature === '') return { ok: false, reason: 'malformed token' };
  const expected = Buffer.from(mac(key, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'token signature does not match' };
  let claims: { i?: unknown; e?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { i?: unknown; e?: unknown };
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (typeof claims.e !== 'number' || claims.e <= now) return { ok: false, reason: 'token expired' };
  if (claims.i !== instanceId) return { ok: false, reason: 'token was issued to another instance' };
  return { ok: true };
}

/** `X-aws-ec2-metadata-token-ttl-seconds`: an integer in 1..21600, else null. */
export function parseTokenTtl(header: string | undefined): number | null {
  if (header === undefined || !/^\s*\d{1,5}\s*$/.test(header)) return null;
  const ttl = Number(header);
  return ttl >= TOKEN_TTL.min && ttl <= TOKEN_TTL.max ? ttl : null;
}
