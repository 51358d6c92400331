import 'reflect-metadata';
import { AGENT_NOT_FOUND, neutronOpenApi, pathIdsOf, startHttpService, stopOnSignals } from '@ncp/nest-common';
import { REQUEST_SCHEMAS } from './api/bodies';
import { IPAM_EXTENSIONS } from './api/extensions';
import { addressScopes, networks, ports, subnetPools, subnets } from './api/resources';
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
    pathIds: pathIdsOf([networks, subnets, ports, subnetPools, addressScopes], { agents: AGENT_NOT_FOUND }),
    openapi: {
      title: 'ncp IPAM',
      description: 'Neutron v2.0 networks, subnets, ports, subnet pools and address scopes.',
      enrich: neutronOpenApi(
        {
          networks: ['network', REQUEST_SCHEMAS.network],
          subnets: ['subnet', REQUEST_SCHEMAS.subnet],
          ports: ['port', REQUEST_SCHEMAS.port],
          subnetpools: ['subnetpool', REQUEST_SCHEMAS.subnetpool],
          'address-scopes': ['address_scope', REQUEST_SCHEMAS.address_scope],
        },
        IPAM_EXTENSIONS,
      ),
    },
  });
  stopOnSignals(ctx.logger, () => app.close(), () => ctx.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
