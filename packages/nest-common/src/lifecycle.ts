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

/** The health of a service with a projection: its database, NATS, and the projection running. */
export function projectionServiceHealth(
  db: { $queryRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<unknown> },
  nc: { flush(): Promise<void> },
  projections: readonly { status(): Promise<{ running: boolean; name: string }> }[],
): HealthCheck[] {
  return [
    { name: 'postgres', check: async () => void (await db.$queryRaw`SELECT 1`) },
    { name: 'nats', check: async () => void (await nc.flush()) },
    {
      name: 'projection',
      check: async () => {
        for (const p of projections) {
          const status = await p.status();
          if (!status.running) throw new Error(`projection ${status.name} stopped`);
        }
      },
    },
  ];
}
