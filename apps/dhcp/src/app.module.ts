import { type DynamicModule, Module } from '@nestjs/common';
import { ApiSupport, ServiceCommonModule, projectionServiceHealth } from '@ncp/nest-common';
import { DHCP_PRISMA, DhcpAgentsController, ExtensionsController, HEARTBEATS } from './api/dhcp.controllers';
import { DhcpServers } from './application/servers';
import { type DhcpContext } from './context';

@Module({})
export class DhcpModule {
  static with(ctx: DhcpContext): DynamicModule {
    return {
      module: DhcpModule,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'dhcp',
          healthChecks: projectionServiceHealth(ctx.prisma, ctx.nc, [ctx.projection]),
          projections: [ctx.projection],
        }),
      ],
      controllers: [ExtensionsController, DhcpAgentsController],
      providers: [
        { provide: ApiSupport, useValue: ctx.api },
        { provide: DHCP_PRISMA, useValue: ctx.prisma },
        { provide: HEARTBEATS, useValue: ctx.heartbeats },
        { provide: DhcpServers, useValue: ctx.servers },
      ],
    };
  }
}
