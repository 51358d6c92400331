import { Controller, type DynamicModule, Get, type InjectionToken, Module, Param, type Type } from '@nestjs/common';
import {
  ApiSupport,
  ServiceCommonModule,
  findExtension,
  neutronOpenApi,
  projectionServiceHealth,
  authenticationOf,
  createLogger,
  startHttpService,
  stopOnSignals,
  type NeutronExtension,
  type NotFoundOf,
} from '@ncp/nest-common';
import { type z } from 'zod';
import { type KitConfig, type Service, type ServiceDb, type ServiceDefinition } from './service';

/** A service's HTTP side: its controllers and what they inject, its /docs, its path checks. */
export interface HttpDeclaration<S> {
  /** GET /v2.0/extensions lists them; /docs describes them. */
  readonly extensions: readonly NeutronExtension[];
  readonly controllers: readonly Type[];
  /** What the controllers inject, from the service's parts (ApiSupport is always there). */
  readonly provide?: (service: S) => readonly (readonly [InjectionToken, unknown])[];
  /** Paths whose ids are checked before any route (see HttpServiceOptions.pathIds). */
  readonly pathIds?: Readonly<Record<string, NotFoundOf>>;
  /** Paths the service guards itself, reached without a Keystone token (see HttpServiceOptions.publicPath). */
  readonly publicPath?: RegExp;
  readonly openapi: {
    readonly title: string;
    readonly description: string;
    /** Request bodies by collection (`networks: ['network', schema]`), for /docs. */
    readonly requests?: Readonly<Record<string, readonly [string, z.ZodType]>>;
  };
  /**
   * Serve while the service starts (both mostly wait), so that after a restart the API answers
   * as soon as it can; otherwise the API opens once everything has started. A write waits for
   * its own event in the projection either way.
   */
  readonly serveWhileStarting?: boolean;
}

/** GET /v2.0/extensions[/<alias>]: what the service implements, as Neutron lists it. */
export function extensionsController(extensions: readonly NeutronExtension[]): Type {
  @Controller('v2.0/extensions')
  class ExtensionsController {
    @Get()
    list() {
      return { extensions };
    }

    @Get(':alias')
    get(@Param('alias') alias: string) {
      return findExtension(extensions, alias);
    }
  }
  return ExtensionsController;
}

@Module({})
class ServiceModule {}

/** The service's Nest module: its controllers, /healthz (degraded on parked events) and /metrics. */
export function serviceModule<S extends Service<KitConfig, ServiceDb, object>>(service: S, http: HttpDeclaration<S>): DynamicModule {
  return {
    module: ServiceModule,
    imports: [
      ServiceCommonModule.forRoot({
        service: service.name,
        healthChecks: projectionServiceHealth(service.prisma, service.nc, service.projections),
        projections: service.projections,
      }),
    ],
    controllers: [extensionsController(http.extensions), ...http.controllers],
    providers: [{ provide: ApiSupport, useValue: service.api }, ...(http.provide?.(service) ?? []).map(([provide, useValue]) => ({ provide, useValue }))],
  };
}

/** A service's `main`: reads the environment, starts the service and its API, stops both on SIGTERM/SIGINT. */
export function runService<C extends KitConfig, Db extends ServiceDb, P extends object, D extends object>(definition: ServiceDefinition<C, Db, P, D>): void {
  const { declaration } = definition;
  const main = async () => {
    const config = declaration.config();
    // first: a service missing its Keystone settings stops before it connects to anything
    const auth = authenticationOf(config, createLogger(declaration.name, config.LOG_LEVEL));
    const service = await definition.create(config);
    const { http } = declaration;
    const serve = () =>
      startHttpService(serviceModule(service, http), {
        service: declaration.name,
        host: config.HOST,
        port: config.PORT,
        logger: service.logger,
        pathIds: http.pathIds,
        auth,
        publicPath: http.publicPath,
        openapi: {
          title: http.openapi.title,
          description: http.openapi.description,
          enrich: http.openapi.requests ? neutronOpenApi(http.openapi.requests, http.extensions) : undefined,
        },
      });
    let app;
    if (http.serveWhileStarting) [app] = await Promise.all([serve(), service.start()]);
    else {
      await service.start();
      app = await serve();
    }
    const started = app;
    stopOnSignals(
      service.logger,
      () => started.close(),
      () => service.stop(),
    );
  };
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
