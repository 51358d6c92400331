import { type ApiService } from '@ncp/contracts';

/** How long a replica that refused a connection is passed over, unless no other is left. */
export const DOWN_MS = 2_000;

/**
 * The replicas of each service and which of them refused a connection lately: requests go
 * round-robin over the replicas not marked down, then over the others (one may be back). No
 * clock or I/O inside; the caller says when it is.
 */
export class UpstreamPool {
  private readonly next = new Map<ApiService, number>();
  private readonly downUntil = new Map<string, number>();

  constructor(private readonly replicas: Readonly<Record<ApiService, readonly string[]>>) {}

  /** The replicas to try for one request, in order: each once, the ones marked down last. */
  order(service: ApiService, now: number): string[] {
    const all = this.replicas[service];
    const start = this.next.get(service) ?? 0;
    this.next.set(service, (start + 1) % all.length);
    const rotated = [...all.slice(start % all.length), ...all.slice(0, start % all.length)];
    const up = rotated.filter((url) => (this.downUntil.get(url) ?? 0) <= now);
    return [...up, ...rotated.filter((url) => !up.includes(url))];
  }

  markDown(url: string, now: number): void {
    this.downUntil.set(url, now + DOWN_MS);
  }

  markUp(url: string): void {
    this.downUntil.delete(url);
  }
}

/** Methods a replica that failed mid-request may be asked again: they change nothing. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Error codes of a connection that never opened: nothing reached the replica, any request may go to another. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether a request that failed with `code` may be sent to another replica: always when it
 * never reached the one it was sent to, else only when it changes nothing.
 */
export function mayRetry(method: string, code: string | undefined, reachedUpstream: boolean): boolean {
  if (!reachedUpstream || (code !== undefined && NOT_CONNECTED.has(code))) return true;
  return SAFE_METHODS.has(method.toUpperCase());
}

/** `http://a:1,http://b:2` -> its URLs, without a trailing slash. */
export function parseUpstreamList(value: string): string[] {
  return value
    .split(',')
    .map((u) => u.trim().replace(/\/$/, ''))
    .filter((u) => u !== '');
}
