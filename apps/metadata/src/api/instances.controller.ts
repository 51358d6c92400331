import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Req } from '@nestjs/common';
import { ApiSupport, type HttpRequestLike } from '@ncp/nest-common';
import { InstanceCommands } from '../application/instances';
import { type MetadataPrisma } from '../infrastructure/prisma';
import { registerInstanceInput, updateInstanceInput } from './bodies';
import { instances } from './resources';

export const DEFAULT_ZONE = Symbol('DEFAULT_ZONE');

/**
 * Instances (beyond Neutron: there is no Nova here): how a compute layer, or a test, says what
 * runs behind the ports whose `device_id` is the instance's id. Scoped by project like ports.
 */
@Controller('v2.0/instances')
export class InstancesController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<MetadataPrisma>,
    @Inject(InstanceCommands) private readonly commands: InstanceCommands,
    @Inject(DEFAULT_ZONE) private readonly defaultZone: string,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    return this.api.list(instances, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    return this.api.get(instances, id, req);
  }

  @Post()
  async create(@Body() body: unknown, @Req() req: HttpRequestLike) {
    const meta = this.api.meta(req);
    return this.api.show(instances, await this.commands.register(registerInstanceInput(body, meta, this.defaultZone), meta), meta);
  }

  @Put(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    // only what the caller may see may be changed: a 404 otherwise, as Neutron
    await this.api.get(instances, id, req);
    const meta = this.api.meta(req);
    return this.api.show(instances, await this.commands.update(id, updateInstanceInput(body), meta), meta);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Param('id') id: string, @Req() req: HttpRequestLike) {
    await this.api.get(instances, id, req);
    await this.api.settled(await this.commands.delete(id, this.api.meta(req)));
  }
}
