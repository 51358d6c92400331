import 'reflect-metadata';
import { AGENT_NOT_FOUND, NETWORK_NOT_FOUND, startHttpService, stopOnSignals } from '@ncp/nest-common';
import { DhcpModule } from './app.module';
import { dhcpConfig } from './config';
import { DhcpContext } from './context';

async function main(): Promise<void> {
  const config = dhcpConfig();
  const ctx = await DhcpContext.create(config);
  await ctx.start();
  const app = await startHttpService(DhcpModule.with(ctx), {
    service: 'dhcp',
    host: config.HOST,
    port: config.PORT,
    logger: ctx.logger,
    pathIds: { agents: AGENT_NOT_FOUND, networks: NETWORK_NOT_FOUND },
    openapi: {
      title: 'ncp DHCP',
      description:
        'Where each network\'s DHCP server runs (Neutron\'s dhcp_agent_scheduler). What the servers hand out (DHCPv4 static leases and options, DHCPv6 stateful/stateless, router advertisements) follows from the networks, subnets and ports of the IPAM API.',
    },
  });
  stopOnSignals(ctx.logger, () => app.close(), () => ctx.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
