import 'reflect-metadata';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { MAX_BODY_BYTES, authenticationOf, bodyTooLarge, createLogger, startHttpService } from '@ncp/nest-common';
import { gatewayConfig, type GatewayConfig } from './config';
import { GatewayModule } from './gateway.module';
import { RESOURCE_PATH, collectionOf, serviceOfPath, stripJsonSuffix } from './routing';

function upstreamOf(config: GatewayConfig, path: string): string {
  switch (serviceOfPath(path)) {
    case 'ipam':
      return config.IPAM_URL;
    case 'l3':
      return config.L3_URL;
    case 'dhcp':
      return config.DHCP_URL;
    case 'bgp':
      return config.BGP_URL;
    case 'metadata':
      return config.METADATA_URL;
    case 'secgroups':
      return config.SECGROUPS_URL;
    case null:
      throw new Error(`no service for ${path}`);
  }
}

async function main(): Promise<void> {
  const config = gatewayConfig();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const auth = authenticationOf(config, logger);
  const proxy = createProxyMiddleware({
    pathFilter: (path) => collectionOf(path) !== null,
    router: (req) => upstreamOf(config, req.url ?? '/'),
    pathRewrite: (path) => stripJsonSuffix(path),
    // The services build links from the host and scheme the client used.
    xfwd: true,
    changeOrigin: false,
    proxyTimeout: 120_000,
    on: {
      error: (err, _req, res) => {
        logger.error({ err }, 'upstream request failed');
        if ('writeHead' in res && !res.headersSent) {
          res.writeHead(503, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ NeutronError: { type: 'HTTPServiceUnavailable', message: 'The service is unavailable.', detail: '' } }));
        }
      },
    },
  });
  // A body the services would refuse as too large is refused here, before it is streamed on.
  const bodyLimit = (req: { headers: Record<string, string | string[] | undefined> }, _res: unknown, next: (err?: unknown) => void) => {
    const length = Number(req.headers['content-length'] ?? 0);
    next(length > MAX_BODY_BYTES ? bodyTooLarge() : undefined);
  };
  await startHttpService(GatewayModule.with(config), {
    service: 'gateway',
    host: config.HOST,
    port: config.PORT,
    logger,
    parseJson: false,
    auth,
    // resources: the service behind validates the token (once per request, not at both hops)
    publicPath: RESOURCE_PATH,
    middleware: [bodyLimit, proxy as never],
    openapi: { title: 'ncp gateway', description: 'Version discovery and extensions; resources are documented by each service at /docs.' },
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
