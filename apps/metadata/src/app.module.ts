import { type DynamicModule, Module } from '@nestjs/common';
import { ApiSupport, ServiceCommonModule, projectionServiceHealth } from '@ncp/nest-common';
import { DEFAULT_ZONE, ExtensionsController, InstancesController } from './api/instances.controller';
import { METADATA_LOGGER, METADATA_PRISMA, METADATA_SETTINGS, MetadataController } from './api/metadata.controller';
import { InstanceCommands } from './application/instances';
import { type MetadataContext } from './context';

@Module({})
export class MetadataModule {
  static with(ctx: MetadataContext): DynamicModule {
    return {
      module: MetadataModule,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'metadata',
          healthChecks: projectionServiceHealth(ctx.prisma, ctx.nc, [ctx.projection]),
          projections: [ctx.projection],
        }),
      ],
      controllers: [ExtensionsController, InstancesController, MetadataController],
      providers: [
        { provide: ApiSupport, useValue: ctx.api },
        { provide: InstanceCommands, useValue: ctx.instances },
        { provide: DEFAULT_ZONE, useValue: ctx.config.DEFAULT_AVAILABILITY_ZONE },
        { provide: METADATA_PRISMA, useValue: ctx.prisma },
        { provide: METADATA_SETTINGS, useValue: ctx.settings },
        { provide: METADATA_LOGGER, useValue: ctx.logger },
      ],
    };
  }
}
