import { Controller } from '@nestjs/common';
import { neutronResource } from '@ncp/nest-common';
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
export class InstancesController extends neutronResource<MetadataPrisma, { commands: InstanceCommands; defaultZone: string }>({
  inject: { commands: InstanceCommands, defaultZone: DEFAULT_ZONE },
  reader: instances,
  create: (body, { deps, meta }) => deps.commands.register(registerInstanceInput(body, meta, deps.defaultZone), meta),
  update: (id, body, { deps, meta }) => deps.commands.update(id, updateInstanceInput(body), meta),
  delete: (id, { deps, meta }) => deps.commands.delete(id, meta),
}) {}
