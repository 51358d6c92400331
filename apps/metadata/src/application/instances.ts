import { type CommandMetadata, type MetaEvent } from '@ncp/contracts';
import { AggregateRepository, type JetStreamEventStore } from '@ncp/eventstore';
import { type Written } from '@ncp/nest-common';
import { instanceDecider, type InstanceAttributes, type InstanceCommand, type InstanceState } from '../domain/instance.decider';

/** The write side: instances, as a compute layer registers them. */
export class InstanceCommands {
  readonly repo: AggregateRepository<InstanceState, InstanceCommand, MetaEvent>;

  constructor(store: JetStreamEventStore) {
    this.repo = new AggregateRepository(store, instanceDecider);
  }

  async register(input: { id: string; projectId: string } & InstanceAttributes, meta: CommandMetadata): Promise<Written> {
    const r = await this.repo.execute(input.id, { type: 'RegisterInstance', ...input }, meta);
    return { id: input.id, sequence: r.sequence };
  }

  async update(id: string, changes: Partial<InstanceAttributes>, meta: CommandMetadata): Promise<Written> {
    const r = await this.repo.execute(id, { type: 'UpdateInstance', id, changes }, meta);
    return { id, sequence: r.sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const r = await this.repo.execute(id, { type: 'DeleteInstance', id }, meta);
    return { id, sequence: r.sequence };
  }
}
