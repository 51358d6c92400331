import { type HealthCheck } from './health';
import { type Logger } from './logger';

/** Stops the process cleanly on SIGTERM/SIGINT: the given steps, in order, then exit 0. */
export function stopOnSignals(logger: Logger, ...steps: (() => Promise<void>)[]): void {
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    for (const step of steps) await step();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** What health and metrics read of a projection. */
export interface ProjectionStatusSource {
  status(): Promise<{ name: string; running: boolean; checkpoint: number; pending: number; parked: number }>;
}

/**
 * The health of a service with a projection: its database, NATS, and the projection running.
 * Parked events leave it serving, reported `degraded` with their count (a restart would not
 * bring them back: `netctl projections parked`).
 */
export function projectionServiceHealth(
  db: { $queryRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<unknown> },
  nc: { flush(): Promise<void> },
  projections: readonly ProjectionStatusSource[],
): HealthCheck[] {
  return [
    { name: 'postgres', check: async () => void (await db.$queryRaw`SELECT 1`) },
    { name: 'nats', check: async () => void (await nc.flush()) },
    {
      name: 'projection',
      check: async () => {
        const parked: string[] = [];
        for (const p of projections) {
          const status = await p.status();
          if (!status.running) throw new Error(`projection ${status.name} stopped`);
          if (status.parked > 0) parked.push(`${status.name} has ${status.parked} parked event${status.parked === 1 ? '' : 's'}`);
        }
        return parked.length > 0 ? { degraded: `${parked.join(', ')} (netctl projections parked)` } : undefined;
      },
    },
  ];
}
