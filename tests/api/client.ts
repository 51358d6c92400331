/** A resource as the API returns it; tests name the fields they read. */
export interface Resource {
  readonly id: string;
  readonly [attribute: string]: unknown;
}

export interface PortResource extends Resource {
  readonly mac_address: string;
  readonly fixed_ips: { subnet_id: string; ip_address: string }[];
}

/** A small Neutron API client for scenarios: status and parsed JSON of every call. */
export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export class NeutronClient {
  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  as(headers: Record<string, string>): NeutronClient {
    return new NeutronClient(this.baseUrl, { ...this.headers, ...headers });
  }

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...this.headers, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as T, headers: res.headers };
  }

  get<T = Record<string, unknown>>(path: string) {
    return this.call<T>('GET', path);
  }
  post<T = Record<string, unknown>>(path: string, body: unknown) {
    return this.call<T>('POST', path, body);
  }
  put<T = Record<string, unknown>>(path: string, body: unknown, headers: Record<string, string> = {}) {
    return this.call<T>('PUT', path, body, headers);
  }
  delete(path: string) {
    return this.call('DELETE', path);
  }

  /** POST that must succeed; returns the created resource. */
  async create<T extends { id: string } = Resource>(collection: string, singular: string, attributes: Record<string, unknown>): Promise<T> {
    const r = await this.post<Record<string, T>>(`/v2.0/${collection}`, { [singular]: attributes });
    if (r.status !== 201) throw new Error(`create ${singular} failed: ${r.status} ${JSON.stringify(r.body)}`);
    const created = r.body[singular];
    if (!created) throw new Error(`no ${singular} in ${JSON.stringify(r.body)}`);
    return created;
  }

  /** A shared address scope and a subnet pool in it: what a router routes without NAT (the reference scenario). */
  async createScopedPool(
    scope: { name: string; ip_version: 4 | 6 },
    pool: { name: string; prefixes: string[]; default_prefixlen: number },
  ): Promise<{ scope: Resource; pool: Resource }> {
    const created = await this.create('address-scopes', 'address_scope', { ...scope, shared: true });
    return { scope: created, pool: await this.create('subnetpools', 'subnetpool', { ...pool, address_scope_id: created.id }) };
  }

  /** A shared external network (the reference scenario's Public-Net); `provider` its provider:* attributes. */
  /** A resource's `status` as the API shows it; 'missing' once it is gone. */
  async status(collection: string, singular: string, id: string): Promise<string> {
    return (await this.get<Record<string, { status?: string } | undefined>>(`/v2.0/${collection}/${id}`)).body[singular]?.status ?? 'missing';
  }

  createSharedExternal(name: string, provider: Record<string, string>): Promise<Resource> {
    return this.create('networks', 'network', { name, shared: true, 'router:external': true, ...provider });
  }
}
