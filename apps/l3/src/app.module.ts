import { type DynamicModule, Module } from '@nestjs/common';
import { ApiSupport, ServiceCommonModule } from '@ncp/nest-common';
import { FloatingIpCommands } from './application/floating-ip.commands';
import { RouterCommands } from './application/router.commands';
import { ExtensionsController, FloatingIpsController, HEARTBEATS, L3_PRISMA, RoutersController } from './api/l3.controllers';
import { type L3Context } from './context';

@Module({})
export class L3Module {
  static with(ctx: L3Context): DynamicModule {
    return {
      module: L3Module,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'l3',
          healthChecks: [
            { name: 'postgres', check: async () => void (await ctx.prisma.$queryRaw`SELECT 1`) },
            { name: 'nats', check: async () => void (await ctx.nc.flush()) },
            {
              name: 'projection',
              check: async () => {
                if (!(await ctx.projection.status()).running) throw new Error('projection stopped');
              },
            },
          ],
        }),
      ],
      controllers: [ExtensionsController, RoutersController, FloatingIpsController],
      providers: [
        { provide: ApiSupport, useValue: ctx.api },
        { provide: RouterCommands, useValue: ctx.routers },
        { provide: FloatingIpCommands, useValue: ctx.floatingIps },
        { provide: L3_PRISMA, useValue: ctx.prisma },
        { provide: HEARTBEATS, useValue: ctx.heartbeats },
      ],
    };
  }
}
