import { Controller, type DynamicModule, Get, Inject, Module, Param, Req } from '@nestjs/common';
import { type Logger, ServiceCommonModule, findExtension } from '@ncp/nest-common';
import { upstreamReplicas, type GatewayConfig } from './config';
import { ExtensionCatalog, fromAnyReplica } from './extension-catalog';
import { resourcesDocument, versionsDocument } from './routing';

export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
/** A replica that does not answer its health check in this time counts as down. */
const HEALTH_TIMEOUT_MS = 5000;

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

function extensionCatalog(config: GatewayConfig, services: string[][], logger: Logger): ExtensionCatalog {
  return new ExtensionCatalog(services, {
    // past the services' own Keystone timeout, so their answer (a list, or a 503) arrives first
    timeoutMs: (config.KEYSTONE_TIMEOUT_SECONDS + 5) * 1000,
    onStale: (err) => logger.warn({ err }, 'the services did not list their extensions; the last list is served'),
  });
}

@Module({})
export class GatewayModule {
  static with(config: GatewayConfig, logger: Logger): DynamicModule {
    const services = Object.entries(upstreamReplicas(config));
    return {
      module: GatewayModule,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'gateway',
          healthChecks: services.map(([service, replicas]) => ({
            name: service,
            check: async () => {
              const res = await fromAnyReplica(replicas, '/healthz', {}, HEALTH_TIMEOUT_MS);
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
        {
          provide: ExtensionCatalog,
          useValue: extensionCatalog(
            config,
            services.map(([, replicas]) => replicas),
            logger,
          ),
        },
      ],
    };
  }
}
