import 'reflect-metadata';
import { AGENT_NOT_FOUND, neutronOpenApi, pathIdsOf, startHttpService, stopOnSignals } from '@ncp/nest-common';
import { REQUEST_SCHEMAS } from './api/bodies';
import { BGP_EXTENSIONS } from './api/extensions';
import { peersReader, speakers } from './api/resources';
import { BgpModule } from './app.module';
import { bgpConfig } from './config';
import { BgpContext } from './context';

async function main(): Promise<void> {
  const config = bgpConfig();
  const ctx = await BgpContext.create(config);
  await ctx.start();
  const app = await startHttpService(BgpModule.with(ctx), {
    service: 'bgp',
    host: config.HOST,
    port: config.PORT,
    logger: ctx.logger,
    pathIds: pathIdsOf([speakers, peersReader(() => false)], { agents: AGENT_NOT_FOUND }),
    openapi: {
      title: 'ncp BGP',
      description:
        'Neutron dynamic routing: BGP speakers and peers. Tenant subnets in the gateway subnet\'s address scope and floating IPs are advertised, next hop the router\'s gateway address, by BIRD 2 on two bgp agents per speaker. Beyond Neutron: dual-stack speakers (ip_version null) and session status on peers.',
      enrich: neutronOpenApi({ 'bgp-speakers': ['bgp_speaker', REQUEST_SCHEMAS.bgp_speaker], 'bgp-peers': ['bgp_peer', REQUEST_SCHEMAS.bgp_peer] }, BGP_EXTENSIONS),
    },
  });
  stopOnSignals(ctx.logger, () => app.close(), () => ctx.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
