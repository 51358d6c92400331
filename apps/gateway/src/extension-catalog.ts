import { type NeutronExtension } from '@ncp/nest-common';

type Fetch = typeof fetch;

/** GET `path` of the first replica that answers: a service is up while any of its replicas is. */
export async function fromAnyReplica(
  replicas: readonly string[],
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
  fetchFn: Fetch = fetch,
): Promise<Response> {
  let lastError: unknown;
  for (const url of replicas) {
    try {
      return await fetchFn(`${url}${path}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

export interface ExtensionCatalogOptions {
  /**
   * How long one service may take to list its extensions. Each service validates the caller's
   * token with Keystone first, which a busy Keystone can take seconds to answer: a bound below
   * the services' own Keystone timeout turns a slow validation into a 500 here.
   */
  readonly timeoutMs: number;
  readonly ttlMs?: number;
  readonly fetchFn?: Fetch;
  readonly now?: () => number;
  readonly onStale?: (err: unknown) => void;
}

/**
 * Collects the extensions every service implements, so clients see exactly those. The list is
 * the same for every caller: one refresh at a time serves all of them, and a refresh that fails
 * keeps the last list (the services' extensions change only with a deployment).
 */
export class ExtensionCatalog {
  private cached: { at: number; extensions: NeutronExtension[] } | undefined;
  private refreshing: Promise<NeutronExtension[]> | undefined;

  constructor(
    private readonly services: readonly (readonly string[])[],
    private readonly options: ExtensionCatalogOptions,
  ) {}

  /** `token`: the caller's (the gateway validated it), which the services validate as well. */
  async list(token: string | undefined): Promise<NeutronExtension[]> {
    const now = this.options.now ?? Date.now;
    if (this.cached && now() - this.cached.at < (this.options.ttlMs ?? 30_000)) return this.cached.extensions;
    this.refreshing ??= this.collect(token).finally(() => (this.refreshing = undefined));
    try {
      const extensions = await this.refreshing;
      this.cached = { at: now(), extensions };
      return extensions;
    } catch (err) {
      if (!this.cached) throw err;
      this.options.onStale?.(err);
      return this.cached.extensions;
    }
  }

  private async collect(token: string | undefined): Promise<NeutronExtension[]> {
    const headers: Record<string, string> = token === undefined ? {} : { 'X-Auth-Token': token };
    const lists = await Promise.all(
      this.services.map(async (replicas) => {
        const res = await fromAnyReplica(replicas, '/v2.0/extensions', headers, this.options.timeoutMs, this.options.fetchFn);
        if (!res.ok) throw new Error(`${res.url} answered ${res.status} for its extensions`);
        return ((await res.json()) as { extensions: NeutronExtension[] }).extensions;
      }),
    );
    const byAlias = new Map(lists.flat().map((e) => [e.alias, e]));
    return [...byAlias.values()].sort((a, b) => a.alias.localeCompare(b.alias));
  }
}
