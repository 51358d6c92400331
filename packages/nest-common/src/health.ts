import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';

/** Something a service needs to be healthy: its database, NATS, its projector. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void>;
}

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

@Controller()
export class HealthController {
  constructor(@Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[]) {}

  /** `pid`: which process answered, so a supervisor can tell its child from whatever else holds the port. */
  @Get('healthz')
  async health(): Promise<{ status: 'ok'; pid: number; checks: Record<string, string> }> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        try {
          await c.check();
          return [c.name, 'ok'] as const;
        } catch (e) {
          return [c.name, e instanceof Error ? e.message : String(e)] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    if (results.some(([, r]) => r !== 'ok')) {
      throw new HttpException({ status: 'unhealthy', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: 'ok', pid: process.pid, checks };
  }
}
