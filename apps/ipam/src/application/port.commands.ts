import { randomUUID } from 'node:crypto';
import { type CommandMetadata } from '@ncp/contracts';
import { type PortRequest, type PortUpdate } from '../domain/network.decider';
import { type AggregateLookups } from './lookups';
import { type IpamWriteModel, type Written } from './write-model';

export class PortCommands {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly lookups: AggregateLookups,
  ) {}

  async create(networkId: string, projectId: string, request: PortRequest, meta: CommandMetadata, portId: string = randomUUID()): Promise<Written> {
    const r = await this.model.networks.execute(
      networkId,
      { type: 'CreatePort', id: networkId, portId, projectId, request, macPrefix: this.model.policies.macPrefix },
      meta,
    );
    return { id: portId, sequence: r.sequence };
  }

  async update(portId: string, changes: PortUpdate, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const networkId = await this.lookups.networkOfPort(portId);
    const r = await this.model.networks.execute(networkId, { type: 'UpdatePort', id: networkId, portId, changes, expectedRevision }, meta);
    return { id: portId, sequence: r.sequence };
  }

  /** `force` is for services removing ports they own (router interfaces), never the public API. */
  async delete(portId: string, meta: CommandMetadata, force = false): Promise<Written> {
    return this.deleteFrom(await this.lookups.networkOfPort(portId), portId, meta, force);
  }

  /** Deletes a port whose network is known (no projection lookup). */
  async deleteFrom(networkId: string, portId: string, meta: CommandMetadata, force = false): Promise<Written> {
    const r = await this.model.networks.execute(networkId, { type: 'DeletePort', id: networkId, portId, force }, meta);
    return { id: portId, sequence: r.sequence };
  }
}
