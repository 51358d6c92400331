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
  // The HTTP app is built while the context starts (both mostly wait): after a restart the API
  // answers as soon as it can. A write waits for its own event in the projection either way.
  const http = startHttpService(IpamModule.with(ctx), {
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
  const [app] = await Promise.all([http, ctx.start()]);
  stopOnSignals(ctx.logger, () => app.close(), () => ctx.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
