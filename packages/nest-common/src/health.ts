import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';

/**
 * Something a service needs to be healthy: its database, NATS, its projector. `check` throws
 * when the service cannot serve (503: an orchestrator may restart it), and returns a note when
 * it serves but something needs an operator (200, status `degraded`: a restart would not help,
 * e.g. events a projection parked).
 */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void | { readonly degraded: string }>;
}

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

@Controller()
export class HealthController {
  constructor(@Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[]) {}

  /** `pid`: which process answered, so a supervisor can tell its child from whatever else holds the port. */
  @Get('healthz')
  async health(): Promise<{ status: 'ok' | 'degraded'; pid: number; checks: Record<string, string> }> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        try {
          const note = await c.check();
          return note ? ([c.name, 'degraded', `degraded: ${note.degraded}`] as const) : ([c.name, 'ok', 'ok'] as const);
        } catch (e) {
          return [c.name, 'failed', e instanceof Error ? e.message : String(e)] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results.map(([name, , text]) => [name, text]));
    if (results.some(([, state]) => state === 'failed')) {
      throw new HttpException({ status: 'unhealthy', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: results.some(([, state]) => state === 'degraded') ? 'degraded' : 'ok', pid: process.pid, checks };
  }
}
