import 'reflect-metadata';
import { startHttpService, stopOnSignals } from '@ncp/nest-common';
import { enrichOpenApi } from './api/openapi';
import { IpamModule } from './app.module';
import { ipamConfig } from './config';
import { IpamContext } from './context';

async function main(): Promise<void> {
  const config = ipamConfig();
  const ctx = await IpamContext.create(config);
  await ctx.start();
  const app = await startHttpService(IpamModule.with(ctx), {
    service: 'ipam',
    host: config.HOST,
    port: config.PORT,
    logger: ctx.logger,
    openapi: {
      title: 'ncp IPAM',
      description: 'Neutron v2.0 networks, subnets, ports, subnet pools and address scopes.',
      enrich: enrichOpenApi,
    },
  });
  stopOnSignals(ctx.logger, () => app.close(), () => ctx.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
