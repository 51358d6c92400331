import 'reflect-metadata';
import { MAX_BODY_BYTES, authenticationOf, bodyTooLarge, createLogger, startHttpService } from '@ncp/nest-common';
import { gatewayConfig, upstreamReplicas } from './config';
import { forwarder } from './forward';
import { GatewayModule } from './gateway.module';
import { RESOURCE_PATH } from './routing';
import { UpstreamPool } from './upstreams';

async function main(): Promise<void> {
  const config = gatewayConfig();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const auth = authenticationOf(config, logger);
  const pool = new UpstreamPool(upstreamReplicas(config));
  // A body the services would refuse as too large is refused here, before it is read.
  const bodyLimit = (req: { headers: Record<string, string | string[] | undefined> }, _res: unknown, next: (err?: unknown) => void) => {
    const length = Number(req.headers['content-length'] ?? 0);
    next(length > MAX_BODY_BYTES ? bodyTooLarge() : undefined);
  };
  await startHttpService(GatewayModule.with(config, logger), {
    service: 'gateway',
    host: config.HOST,
    port: config.PORT,
    logger,
    parseJson: false,
    auth,
    // resources: the service behind validates the token (once per request, not at both hops)
    publicPath: RESOURCE_PATH,
    middleware: [bodyLimit, forwarder(pool, logger)],
    openapi: { title: 'ncp gateway', description: 'Version discovery and extensions; resources are documented by each service at /docs.' },
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
