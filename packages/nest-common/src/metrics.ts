import { Controller, Get, Header, Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { type ProjectionStatusSource } from './lifecycle';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Request count and latency by method, route pattern and status. */
export class HttpMetrics {
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route' | 'status'>;
  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }
}

/**
 * Per projection, read at each scrape: events parked (alert on > 0), the stream sequence
 * applied, and events not applied yet.
 */
export function registerProjectionMetrics(registry: Registry, projections: readonly ProjectionStatusSource[]): void {
  const statuses = () => Promise.all(projections.map((p) => p.status()));
  const gauge = (name: string, help: string, value: (s: Awaited<ReturnType<ProjectionStatusSource['status']>>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        for (const s of await statuses()) this.set({ projection: s.name }, value(s));
      },
    });
  gauge('projection_parked_events', 'Events the projection could not apply and went on without', (s) => s.parked);
  gauge('projection_checkpoint', 'Stream sequence the projection has applied', (s) => s.checkpoint);
  gauge('projection_pending_events', 'Events in the stream the projection has not applied yet', (s) => s.pending);
}

interface MinimalRequest {
  method: string;
  path?: string;
  route?: { path?: string };
}
interface MinimalResponse {
  statusCode: number;
  on(event: 'finish', cb: () => void): void;
}

@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(@Inject(HttpMetrics) private readonly metrics: HttpMetrics) {}
  use(req: MinimalRequest, res: MinimalResponse, next: () => void) {
    const end = this.metrics.duration.startTimer();
    res.on('finish', () => {
      // The route pattern, not the path: ids would explode the label set.
      const route = req.route?.path ?? 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      end(labels);
      this.metrics.requests.inc(labels);
    });
    next();
  }
}

@Controller()
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
