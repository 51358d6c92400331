import { Controller, type DynamicModule, Get, Module, Param } from '@nestjs/common';
import { ServiceCommonModule, findExtension, projectionServiceHealth } from '@ncp/nest-common';
import { AddressScopeCommands } from './application/address-scope.commands';
import { BulkCreateCommands } from './application/bulk-create.commands';
import { NetworkCommands } from './application/network.commands';
import { PortCommands } from './application/port.commands';
import { SubnetCommands } from './application/subnet.commands';
import { SubnetPoolCommands } from './application/subnet-pool.commands';
import { AGENTS_READER, AgentsController, agentsReader } from './api/agents';
import { ApiSupport } from '@ncp/nest-common';
import { IPAM_EXTENSIONS } from './api/extensions';
import {
  AddressScopesController,
  NetworksController,
  PortsController,
  SubnetPoolsController,
  SubnetsController,
} from './api/ipam.controllers';
import { type IpamContext } from './context';

@Controller('v2.0/extensions')
export class ExtensionsController {
  @Get()
  list() {
    return { extensions: IPAM_EXTENSIONS };
  }

  @Get(':alias')
  get(@Param('alias') alias: string) {
    return findExtension(IPAM_EXTENSIONS, alias);
  }
}

@Module({})
export class IpamModule {
  static with(ctx: IpamContext): DynamicModule {
    return {
      module: IpamModule,
      imports: [
        ServiceCommonModule.forRoot({
          service: 'ipam',
          healthChecks: projectionServiceHealth(ctx.prisma, ctx.nc, [ctx.projection, ctx.agentsProjection]),
          projections: [ctx.projection, ctx.agentsProjection],
        }),
      ],
      controllers: [ExtensionsController, AgentsController, NetworksController, SubnetsController, PortsController, SubnetPoolsController, AddressScopesController],
      providers: [
        { provide: ApiSupport, useValue: ctx.api },
        { provide: AGENTS_READER, useValue: agentsReader(ctx.liveness) },
        { provide: NetworkCommands, useValue: ctx.networks },
        { provide: SubnetCommands, useValue: ctx.subnets },
        { provide: PortCommands, useValue: ctx.ports },
        { provide: SubnetPoolCommands, useValue: ctx.subnetPools },
        { provide: AddressScopeCommands, useValue: ctx.addressScopes },
        { provide: BulkCreateCommands, useValue: ctx.bulkCreates },
      ],
    };
  }
}
