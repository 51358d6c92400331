import 'reflect-metadata';
import { neutronOpenApi, pathIdsOf, startHttpService, stopOnSignals } from '@ncp/nest-common';
import { REQUEST_SCHEMAS } from './api/bodies';
import { L3_EXTENSIONS } from './api/extensions';
import { floatingIps, routers } from './api/resources';
import { L3Module } from './app.module';
import { l3Config } from './config';
import { L3Context } from './context';

async function main(): Promise<void> {
  const config = l3Config();
  const ctx = await L3Context.create(config);
  await ctx.start();
  const app = await startHttpService(L3Module.with(ctx), {
    service: 'l3',
    host: config.HOST,
    port: config.PORT,
    logger: ctx.logger,
    pathIds: pathIdsOf([routers, floatingIps]),
    openapi: {
      title: 'ncp L3',
      description:
        'Neutron v2.0 routers and floating IPs. Beyond Neutron: nat_exclusions on routers (destinations reached without SNAT), and no NAT at all for internal subnets in the external subnet\'s address scope.',
      enrich: neutronOpenApi({ routers: ['router', REQUEST_SCHEMAS.router], floatingips: ['floatingip', REQUEST_SCHEMAS.floatingip] }, L3_EXTENSIONS),
    },
  });
  stopOnSignals(ctx.logger, () => app.close(), () => ctx.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
