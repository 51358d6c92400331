import 'reflect-metadata';
import { neutronOpenApi, pathIdsOf, startHttpService, stopOnSignals } from '@ncp/nest-common';
import { REQUEST_SCHEMAS } from './api/bodies';
import { METADATA_EXTENSIONS } from './api/extensions';
import { instances } from './api/resources';
import { MetadataModule } from './app.module';
import { metadataConfig } from './config';
import { MetadataContext } from './context';

async function main(): Promise<void> {
  const config = metadataConfig();
  const ctx = await MetadataContext.create(config);
  await ctx.start();
  const app = await startHttpService(MetadataModule.with(ctx), {
    service: 'metadata',
    host: config.HOST,
    port: config.PORT,
    logger: ctx.logger,
    pathIds: pathIdsOf([instances]),
    openapi: {
      title: 'ncp metadata',
      description:
        'Instances (beyond Neutron: the compute layer registers what runs behind a port, by device_id) and the instance metadata they read through the proxies in router and DHCP namespaces: /openstack/<version>/{meta_data.json,network_data.json,user_data,vendor_data.json,vendor_data2.json}, /latest/meta-data/..., /latest/user-data, PUT /latest/api/token (IMDSv2). Metadata requests must carry the instance id signed by a proxy (X-Instance-ID, X-Instance-ID-Signature: HMAC-SHA256 with METADATA_PROXY_SHARED_SECRET).',
      enrich: neutronOpenApi({ instances: ['instance', REQUEST_SCHEMAS.instance] }, METADATA_EXTENSIONS),
    },
  });
  stopOnSignals(ctx.logger, () => app.close(), () => ctx.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
