import { type Socket } from 'node:net';
import { type DynamicModule, type INestApplication, Module, type MiddlewareConsumer, type NestModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { type Registry } from 'prom-client';
import { HEALTH_CHECKS, HealthController, type HealthCheck } from './health';
import { type Logger, PinoNestLogger } from './logger';
import { type ProjectionStatusSource } from './lifecycle';
import { HttpMetrics, HttpMetricsMiddleware, METRICS_REGISTRY, MetricsController, createMetricsRegistry, registerProjectionMetrics } from './metrics';
import { MAX_BODY_BYTES, badPathSegment, bodyParserError, clientErrorResponse, httpError, originForm, storableJsonReviver, type NotFoundOf } from './http-edge';
import { NeutronExceptionFilter } from './neutron/errors';
import { requestId } from './neutron/request-context';
import { type Authentication, authenticationMiddleware } from './auth/authentication';

export interface ServiceCommonOptions {
  readonly service: string;
  readonly healthChecks: readonly HealthCheck[];
  readonly registry?: Registry;
  /** Projections whose parked events, checkpoint and lag /metrics shows. */
  readonly projections?: readonly ProjectionStatusSource[];
}

/** /healthz, /metrics and request metrics, the same in every app. */
@Module({})
export class ServiceCommonModule implements NestModule {
  static forRoot(opts: ServiceCommonOptions): DynamicModule {
    const registry = opts.registry ?? createMetricsRegistry(opts.service);
    registerProjectionMetrics(registry, opts.projections ?? []);
    return {
      module: ServiceCommonModule,
      global: true,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: HEALTH_CHECKS, useValue: opts.healthChecks },
        { provide: METRICS_REGISTRY, useValue: registry },
        { provide: HttpMetrics, useValue: new HttpMetrics(registry) },
        HttpMetricsMiddleware,
      ],
      exports: [METRICS_REGISTRY, HttpMetrics],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*path');
  }
}

export interface HttpServiceOptions {
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly openapi?: { readonly title: string; readonly description: string; readonly enrich?: (doc: OpenAPIObject) => OpenAPIObject };
  /** Parse request bodies as JSON (default). A proxy turns it off to pass bodies through. */
  readonly parseJson?: boolean;
  /** Express middleware mounted ahead of the Nest routes (e.g. a reverse proxy). */
  readonly middleware?: readonly ((req: never, res: never, next: () => void) => void)[];
  /**
   * Check the ids in `/v2.0/...` paths before any route sees them, answering an id that
   * cannot exist with the 404 of its collection (collection path -> not-found answer).
   * The gateway leaves it out: the service behind it answers.
   */
  readonly pathIds?: Readonly<Record<string, NotFoundOf>>;
  /** Who may call: every route but the open ones (and `publicPath`) needs a valid token with Keystone. */
  readonly auth: Authentication;
  /** Paths the service guards itself (the metadata service's signed instance paths). */
  readonly publicPath?: RegExp;
}

interface RequestLike {
  url: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ResponseLike {
  setHeader(name: string, value: string): void;
}

/** Creates and starts a Nest HTTP app with Neutron error bodies, request ids and /docs. */
export async function startHttpService(module: Type | DynamicModule, opts: HttpServiceOptions): Promise<INestApplication> {
  const app = await NestFactory.create(module, { logger: new PinoNestLogger(opts.logger), bodyParser: false });
  // First, so that every answer (refusals below included) carries the request id.
  app.use((req: RequestLike, res: ResponseLike, next: () => void) => {
    const id = requestId(req.headers);
    req.headers['x-openstack-request-id'] = id;
    res.setHeader('X-Openstack-Request-Id', id);
    next();
  });
  app.use((req: RequestLike, _res: unknown, next: (err?: unknown) => void) => {
    const target = originForm(req.url);
    if (target === null) return next(httpError(400, 'HTTPBadRequest', 'The request target must be a path or an absolute URL.'));
    req.url = target;
    if (req.originalUrl !== undefined) req.originalUrl = target;
    next();
  });
  // Before the body is read: a request without a valid token costs no parsing.
  app.use(authenticationMiddleware(opts.auth, opts.publicPath));
  if (opts.pathIds) {
    const notFound = opts.pathIds;
    app.use((req: RequestLike, _res: unknown, next: (err?: unknown) => void) => next(badPathSegment(req.url.split('?')[0] ?? '', notFound) ?? undefined));
  }
  if (opts.parseJson !== false) {
    const express = await import('express');
    // Neutron clients send JSON; some omit or vary the content type, so parse any body as JSON.
    const json = express.json({ type: () => true, limit: MAX_BODY_BYTES, reviver: storableJsonReviver });
    app.use((req: never, res: never, next: (err?: unknown) => void) =>
      json(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyParserError(err))),
    );
  }
  for (const m of opts.middleware ?? []) app.use(m);
  app.useGlobalFilters(new NeutronExceptionFilter(opts.logger));
  app.enableShutdownHooks();
  if (opts.openapi) {
    const config = new DocumentBuilder().setTitle(opts.openapi.title).setDescription(opts.openapi.description).setVersion('2.0').build();
    const openapi = opts.openapi;
    // Built on the first request to /docs, not at start: it costs seconds of CPU that a
    // restarting service should spend on answering its API.
    const document = () => {
      const d = SwaggerModule.createDocument(app, config);
      return openapi.enrich ? openapi.enrich(d) : d;
    };
    SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  }
  await app.listen(opts.port, opts.host);
  // Requests Node's parser refuses get a Neutron body too, not a bare status line.
  (app.getHttpServer() as { on(event: 'clientError', fn: (err: Error & { code?: string }, socket: Socket) => void): void }).on('clientError', (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(err.code));
  });
  opts.logger.info({ host: opts.host, port: opts.port }, `${opts.service} listening`);
  return app;
}
