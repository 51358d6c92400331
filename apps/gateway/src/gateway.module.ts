import { Controller, type DynamicModule, Get, Inject, Module, Param, Req } from '@nestjs/common';
import { ServiceCommonModule, findExtension, type NeutronExtension } from '@ncp/nest-common';
import { type GatewayConfig } from './config';
import { resourcesDocument, versionsDocument } from './routing';

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
export const EXTENSIONS = Symbol('EXTENSIONS');

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  protocol: string;
}

function baseUrl(config: GatewayConfig, req: RequestLike): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL.replace(/\/$/, '');
  const host = req.headers.host ?? `${config.HOST}:${config.PORT}`;
  return `${req.protocol}://${Array.isArray(host) ? host[0] : host}`;
}

function authToken(req: RequestLike): string | undefined {
  const token = req.headers['x-auth-token'];
  return Array.isArray(token) ? token[0] : token;
}

/** Collects the extensions every service implements, so clients see exactly those. */
export class ExtensionCatalog {
  private cached: { at: number; extensions: NeutronExtension[] } | undefined;

  constructor(private readonly upstreams: readonly string[]) {}

  /** `token`: the caller's, which the services validate as the gateway did. */
  async list(token: string | undefined): Promise<NeutronExtension[]> {
    if (this.cached && Date.now() - this.cached.at < 30_000) return this.cached.extensions;
    const lists = await Promise.all(
      this.upstreams.map(async (url) => {
        const headers: Record<string, string> = token === undefined ? {} : { 'X-Auth-Token': token };
        const res = await fetch(`${url}/v2.0/extensions`, { headers, signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`${url} answered ${res.status} for its extensions`);
        return ((await res.json()) as { extensions: NeutronExtension[] }).extensions;
      }),
    );
    const byAlias = new Map(lists.flat().map((e) => [e.alias, e]));
    const extensions = [...byAlias.values()].sort((a, b) => a.alias.localeCompare(b.alias));
    this.cached = { at: Date.now(), extensions };
    return extensions;
  }
}

@Controller()
export class DiscoveryController {
  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(ExtensionCatalog) private readonly catalog: ExtensionCatalog,
  ) {}

  @Get()
  versions(@Req() req: RequestLike) {
    return versionsDocument(baseUrl(this.config, req));
  }

  @Get('v2.0')
  resources(@Req() req: RequestLike) {
    return resourcesDocument(baseUrl(this.config, req));
  }

  @Get('v2.0/extensions')
  async extensions(@Req() req: RequestLike) {
    return { extensions: await this.catalog.list(authToken(req)) };
  }

  @Get('v2.0/extensions/:alias')
  async extension(@Param('alias') alias: string, @Req() req: RequestLike) {
    return findExtension(await this.catalog.list(authToken(req)), alias);
  }
}

@Module({})
export class GatewayModule {
  static with(config: GatewayConfig): DynamicModule {
    const upstreams = [config.IPAM_URL, config.L3_URL, config.DHCP_URL, config.BGP_URL, config.METADATA_URL, config.SECGROUPS_URL];
    return {
      module: GatewayModule,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'gateway',
          healthChecks: upstreams.map((url) => ({
            name: new URL(url).host,
            check: async () => {
              const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
              if (!res.ok) throw new Error(`answered ${res.status}`);
              // an upstream that serves but needs an operator (parked events) makes the API degraded too
              const body = (await res.json().catch(() => ({}))) as { status?: unknown; checks?: Record<string, unknown> };
              if (body.status !== 'degraded') return undefined;
              const notes = Object.values(body.checks ?? {}).filter((c): c is string => typeof c === 'string' && c.startsWith('degraded: '));
              return { degraded: notes.map((n) => n.slice('degraded: '.length)).join('; ') || 'degraded' };
            },
          })),
        }),
      ],
      controllers: [DiscoveryController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: ExtensionCatalog, useValue: new ExtensionCatalog(upstreams) },
      ],
    };
  }
}
