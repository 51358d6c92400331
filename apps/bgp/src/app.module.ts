import { type DynamicModule, Module } from '@nestjs/common';
import { ApiSupport, ServiceCommonModule, projectionServiceHealth } from '@ncp/nest-common';
import { BGP_PRISMA, DrAgentsController, ExtensionsController, HEARTBEATS, PeersController, SpeakersController } from './api/bgp.controllers';
import { BgpCommands } from './application/commands';
import { type BgpContext } from './context';

@Module({})
export class BgpModule {
  static with(ctx: BgpContext): DynamicModule {
    return {
      module: BgpModule,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'bgp',
          healthChecks: projectionServiceHealth(ctx.prisma, ctx.nc, [ctx.projection]),
          projections: [ctx.projection],
        }),
      ],
      controllers: [ExtensionsController, SpeakersController, PeersController, DrAgentsController],
      providers: [
        { provide: ApiSupport, useValue: ctx.api },
        { provide: BgpCommands, useValue: ctx.commands },
        { provide: BGP_PRISMA, useValue: ctx.prisma },
        { provide: HEARTBEATS, useValue: ctx.heartbeats },
      ],
    };
  }
}
