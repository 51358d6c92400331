import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Req } from '@nestjs/common';
import { AddressScopeCommands } from '../application/address-scope.commands';
import { BulkCreateCommands } from '../application/bulk-create.commands';
import { NetworkCommands } from '../application/network.commands';
import { PortCommands } from '../application/port.commands';
import { SubnetCommands } from '../application/subnet.commands';
import { SubnetPoolCommands } from '../application/subnet-pool.commands';
import { ApiSupport, type HttpRequestLike } from '@ncp/nest-common';
import { type IpamPrisma } from '../infrastructure/prisma';
import {
  createAddressScopeInput,
  createNetworkInput,
  createPortInput,
  createSubnetInput,
  createSubnetPoolInput,
  prefixesInput,
  updateAddressScopeInput,
  updateNetworkInput,
  updatePortInput,
  updateSubnetInput,
  updateSubnetPoolInput,
} from './bodies';
import { bulkBodies, showAll } from './bulk';
import { addressScopes, networks, ports, subnetPools, subnets } from './resources';

/** Neutron v2.0 endpoints of the resources IPAM owns. */

@Controller('v2.0/networks')
export class NetworksController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<IpamPrisma>,
    @Inject(NetworkCommands) private readonly commands: NetworkCommands,
    @Inject(BulkCreateCommands) private readonly bulk: BulkCreateCommands,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    return this.api.list(networks, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    return this.api.get(networks, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    const bulk = bulkBodies(body, 'networks', 'network');
    if (bulk)
      return showAll(
        this.api,
        networks,
        await this.bulk.createNetworks(
          bulk.map((b) => createNetworkInput(b, meta)),
          meta,
        ),
        meta,
      );
    return this.api.show(networks, await this.commands.create(createNetworkInput(body, meta), meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(networks, await this.commands.update(id, updateNetworkInput(body), this.api.expectedRevision(req), meta), meta);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    await this.api.settled(await this.commands.delete(id, this.api.meta(req)));
  }
}

@Controller('v2.0/subnets')
export class SubnetsController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<IpamPrisma>,
    @Inject(SubnetCommands) private readonly commands: SubnetCommands,
    @Inject(BulkCreateCommands) private readonly bulk: BulkCreateCommands,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    return this.api.list(subnets, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    return this.api.get(subnets, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    const bulk = bulkBodies(body, 'subnets', 'subnet');
    if (bulk)
      return showAll(
        this.api,
        subnets,
        await this.bulk.createSubnets(
          bulk.map((b) => createSubnetInput(b, meta)),
          meta,
        ),
        meta,
      );
    return this.api.show(subnets, await this.commands.create(createSubnetInput(body, meta), meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(subnets, await this.commands.update(id, updateSubnetInput(body), this.api.expectedRevision(req), meta), meta);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    await this.api.settled(await this.commands.delete(id, this.api.meta(req)));
  }
}

@Controller('v2.0/ports')
export class PortsController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<IpamPrisma>,
    @Inject(PortCommands) private readonly commands: PortCommands,
    @Inject(BulkCreateCommands) private readonly bulk: BulkCreateCommands,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    return this.api.list(ports, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    return this.api.get(ports, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    const bulk = bulkBodies(body, 'ports', 'port');
    if (bulk)
      return showAll(
        this.api,
        ports,
        await this.bulk.createPorts(
          bulk.map((b) => createPortInput(b, meta)),
          meta,
        ),
        meta,
      );
    const input = createPortInput(body, meta);
    return this.api.show(ports, await this.commands.create(input.networkId, input.projectId, input.request, meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(ports, await this.commands.update(id, updatePortInput(body), this.api.expectedRevision(req), meta), meta);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    await this.api.settled(await this.commands.delete(id, this.api.meta(req)));
  }
}

@Controller('v2.0/subnetpools')
export class SubnetPoolsController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<IpamPrisma>,
    @Inject(SubnetPoolCommands) private readonly commands: SubnetPoolCommands,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    return this.api.list(subnetPools, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    return this.api.get(subnetPools, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(subnetPools, await this.commands.create(createSubnetPoolInput(body, meta), meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(subnetPools, await this.commands.update(id, updateSubnetPoolInput(body), this.api.expectedRevision(req), meta), meta);
  }

  /** Neutron's subnetpool-prefix-ops: answers with the pool's prefixes afterwards. */
  @Put(':id/add_prefixes')
  async addPrefixes(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    const shown = await this.api.show(subnetPools, await this.commands.addPrefixes(id, prefixesInput(body), meta), meta);
    return { prefixes: shown.subnetpool?.prefixes };
  }

  @Put(':id/remove_prefixes')
  async removePrefixes(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    const shown = await this.api.show(subnetPools, await this.commands.removePrefixes(id, prefixesInput(body), meta), meta);
    return { prefixes: shown.subnetpool?.prefixes };
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    await this.api.settled(await this.commands.delete(id, this.api.meta(req)));
  }
}

@Controller('v2.0/address-scopes')
export class AddressScopesController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<IpamPrisma>,
    @Inject(AddressScopeCommands) private readonly commands: AddressScopeCommands,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    return this.api.list(addressScopes, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    return this.api.get(addressScopes, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(addressScopes, await this.commands.create(createAddressScopeInput(body, meta), meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(addressScopes, await this.commands.update(id, updateAddressScopeInput(body), this.api.expectedRevision(req), meta), meta);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    await this.api.settled(await this.commands.delete(id, this.api.meta(req)));
  }
}
