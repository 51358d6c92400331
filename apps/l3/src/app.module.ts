import { type DynamicModule, Module } from '@nestjs/common';
import { ApiSupport, ServiceCommonModule, projectionServiceHealth } from '@ncp/nest-common';
import { FloatingIpCommands } from './application/floating-ip.commands';
import { RouterCommands } from './application/router.commands';
import { CATCH_UP, ExtensionsController, FloatingIpsController, HEARTBEATS, L3_PRISMA, RoutersController } from './api/l3.controllers';
import { type L3Context } from './context';

@Module({})
export class L3Module {
  static with(ctx: L3Context): DynamicModule {
    return {
      module: L3Module,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'l3',
          healthChecks: projectionServiceHealth(ctx.prisma, ctx.nc, [ctx.projection]),
          projections: [ctx.projection],
        }),
      ],
      controllers: [ExtensionsController, RoutersController, FloatingIpsController],
      providers: [
        { provide: ApiSupport, useValue: ctx.api },
        { provide: RouterCommands, useValue: ctx.routers },
        { provide: FloatingIpCommands, useValue: ctx.floatingIps },
        { provide: L3_PRISMA, useValue: ctx.prisma },
        { provide: HEARTBEATS, useValue: ctx.heartbeats },
        { provide: CATCH_UP, useValue: () => ctx.projection.catchUp(5_000) },
      ],
    };
  }
}
