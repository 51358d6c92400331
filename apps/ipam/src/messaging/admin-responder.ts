import { type Naming } from '@ncp/contracts';
import { type ProjectionRunner } from '@ncp/eventstore';
import { type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { type Logger } from '@ncp/nest-common';

/**
 * Operator requests over NATS (what `netctl projections ...` sends):
 * `admin.ipam.projection_status` and `admin.ipam.projection_rebuild`.
 */
export class AdminResponder {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly projections: readonly Pick<ProjectionRunner<unknown>, 'status' | 'rebuild'>[],
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.serve('projection_status', async () => Promise.all(this.projections.map((p) => p.status())));
    this.serve('projection_rebuild', async () => {
      const started = Date.now();
      const results = [];
      for (const p of this.projections) {
        await p.rebuild();
        results.push(await p.status());
      }
      this.logger.info({ results, ms: Date.now() - started }, 'projections rebuilt');
      return { projections: results, durationMs: Date.now() - started };
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.drain()));
  }

  private serve(verb: string, handler: () => Promise<unknown>): void {
    this.subscriptions.push(
      this.nc.subscribe(this.naming.adminSubject('ipam', verb), {
        callback: (err, msg) => {
          if (err) return;
          handler()
            .then((result) => msg.respond(JSON.stringify({ result })))
            .catch((e: unknown) => {
              this.logger.error({ err: e, verb }, 'admin request failed');
              msg.respond(JSON.stringify({ error: { message: e instanceof Error ? e.message : String(e) } }));
            });
        },
      }),
    );
  }
}
