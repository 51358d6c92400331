import { randomUUID } from 'node:crypto';
import { type CommandMetadata } from '@ncp/contracts';
import { type IpamWriteModel, type Written } from './write-model';

export class AddressScopeCommands {
  constructor(private readonly model: IpamWriteModel) {}

  async create(input: { projectId: string; name: string; ipVersion: 4 | 6; shared: boolean }, meta: CommandMetadata): Promise<Written> {
    const id = randomUUID();
    const r = await this.model.scopes.execute(id, { type: 'CreateAddressScope', id, ...input }, meta);
    return { id, sequence: r.sequence };
  }

  async update(id: string, changes: { name?: string; shared?: boolean }, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const r = await this.model.scopes.execute(id, { type: 'UpdateAddressScope', id, changes, expectedRevision }, meta);
    return { id, sequence: r.sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const r = await this.model.scopes.execute(id, { type: 'DeleteAddressScope', id }, meta);
    return { id, sequence: r.sequence };
  }
}
