import { randomUUID } from 'node:crypto';
import { Body, Controller, Param, Put, Req, type Type } from '@nestjs/common';
import { type CommandMetadata, type QuotaKind } from '@ncp/contracts';
import { QuotaUsage } from '@ncp/eventstore';
import { neutronResource, type HttpRequestLike } from '@ncp/nest-common';
import { AddressScopeCommands } from '../application/address-scope.commands';
import { BulkCreateCommands } from '../application/bulk-create.commands';
import { NetworkCommands } from '../application/network.commands';
import { PortCommands } from '../application/port.commands';
import { RbacPolicyCommands } from '../application/rbac-policy.commands';
import { SubnetCommands } from '../application/subnet.commands';
import { SubnetPoolCommands } from '../application/subnet-pool.commands';
import { type Written } from '../application/write-model';
import { type IpamPrisma } from '../infrastructure/prisma';
import {
  createAddressScopeInput,
  createNetworkInput,
  createPortInput,
  createRbacPolicyInput,
  createSubnetInput,
  createSubnetPoolInput,
  prefixesInput,
  updateAddressScopeInput,
  updateNetworkInput,
  updatePortInput,
  updateRbacPolicyInput,
  updateSubnetInput,
  updateSubnetPoolInput,
} from './bodies';
import { parsedBulk } from './bulk';
import { addressScopes, networks, ports, rbacPolicies, subnetPools, subnets, type IpamReader } from './resources';

/** Neutron v2.0 endpoints of the resources IPAM owns. */

/** What IPAM's command classes have in common: they take the parsed body, and updates honour If-Match. */
interface IpamCommands<Create, Update> {
  create(input: Create, meta: CommandMetadata, id?: string): Promise<Written>;
  update(id: string, changes: Update, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written>;
  delete(id: string, meta: CommandMetadata): Promise<Written>;
}

interface IpamBodies<Create, Update> {
  /** The quota an API create counts against (address scopes have none). */
  quota?: QuotaKind;
  create(body: unknown, meta: CommandMetadata): Create;
  update(body: unknown): Update;
  /** Resources Neutron also creates in bulk (`{"<collection>": [...]}`): every item is parsed before all are written together. */
  createMany?(bulk: BulkCreateCommands, inputs: Create[], meta: CommandMetadata): Promise<Written[]>;
}

/** An IPAM resource whose commands follow IpamCommands (all but ports). */
function ipamResource<C extends IpamCommands<Create, Update>, Create extends { projectId: string }, Update>(
  commands: Type<C>,
  reader: IpamReader<unknown>,
  bodies: IpamBodies<Create, Update>,
) {
  return neutronResource<IpamPrisma, { commands: C; bulk: BulkCreateCommands; quota: QuotaUsage }>({
    inject: { commands, bulk: BulkCreateCommands, quota: QuotaUsage },
    reader,
    create: (body, { deps, meta }) => {
      const many = bodies.createMany ? parsedBulk(body, reader, bodies.create, meta) : null;
      if (many && bodies.createMany) return bodies.createMany(deps.bulk, many, meta);
      const input = bodies.create(body, meta);
      const kind = bodies.quota;
      if (kind === undefined) return deps.commands.create(input, meta);
      const id = randomUUID();
      return deps.quota.guard(input.projectId, kind, [id], meta, () => deps.commands.create(input, meta, id));
    },
    update: (id, body, { deps, meta, revision }) => deps.commands.update(id, bodies.update(body), revision(), meta),
    delete: (id, { deps, meta }) => deps.commands.delete(id, meta),
  });
}

@Controller('v2.0/networks')
export class NetworksController extends ipamResource(NetworkCommands, networks, {
  quota: 'network',
  create: createNetworkInput,
  update: updateNetworkInput,
  createMany: (bulk, inputs, meta) => bulk.createNetworks(inputs, meta),
}) {}

@Controller('v2.0/subnets')
export class SubnetsController extends ipamResource(SubnetCommands, subnets, {
  quota: 'subnet',
  create: createSubnetInput,
  update: updateSubnetInput,
  createMany: (bulk, inputs, meta) => bulk.createSubnets(inputs, meta),
}) {}

/** Ports are created on a network: PortCommands take the network and the project apart from the rest. */
@Controller('v2.0/ports')
export class PortsController extends neutronResource<IpamPrisma, { commands: PortCommands; bulk: BulkCreateCommands; quota: QuotaUsage }>({
  inject: { commands: PortCommands, bulk: BulkCreateCommands, quota: QuotaUsage },
  reader: ports,
  create: (body, { deps, meta }) => {
    const many = parsedBulk(body, ports, createPortInput, meta);
    if (many) return deps.bulk.createPorts(many, meta);
    const input = createPortInput(body, meta);
    const id = randomUUID();
    return deps.quota.guard(input.projectId, 'port', [id], meta, () => deps.commands.create(input.networkId, input.projectId, input.request, meta, id));
  },
  update: (id, body, { deps, meta, revision }) => deps.commands.update(id, updatePortInput(body), revision(), meta),
  delete: (id, { deps, meta }) => deps.commands.delete(id, meta),
}) {}

@Controller('v2.0/subnetpools')
export class SubnetPoolsController extends ipamResource(SubnetPoolCommands, subnetPools, {
  quota: 'subnetpool',
  create: createSubnetPoolInput,
  update: updateSubnetPoolInput,
}) {
  /** Neutron's subnetpool-prefix-ops: answers with the pool's prefixes afterwards. */
  @Put(':id/add_prefixes')
  async addPrefixes(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.prefixesAfter(req, (pools, meta) => pools.addPrefixes(id, prefixesInput(body), meta));
  }

  @Put(':id/remove_prefixes')
  async removePrefixes(@Param('id') id: string, @Body() body: unknown, @Req() req: HttpRequestLike) {
    return this.prefixesAfter(req, (pools, meta) => pools.removePrefixes(id, prefixesInput(body), meta));
  }

  private async prefixesAfter(req: HttpRequestLike, change: (pools: SubnetPoolCommands, meta: CommandMetadata) => Promise<Written>) {
    const meta = this.api.meta(req);
    const shown = await this.api.show(subnetPools, await change(this.deps.commands, meta), meta);
    return { prefixes: shown.subnetpool?.prefixes };
  }
}

/** Neutron's rbac-policies: entries that share a network, a subnet pool or an address scope. */
@Controller('v2.0/rbac-policies')
export class RbacPoliciesController extends ipamResource(RbacPolicyCommands, rbacPolicies, { create: createRbacPolicyInput, update: updateRbacPolicyInput }) {}

@Controller('v2.0/address-scopes')
export class AddressScopesController extends ipamResource(AddressScopeCommands, addressScopes, {
  create: createAddressScopeInput,
  update: updateAddressScopeInput,
}) {}
