import { ConflictError, META_AGGREGATES, META_CONTEXT, NotFoundError, createdEvent, type CommandMetadata, type Decider, type MetaEvent } from '@ncp/contracts';

export interface InstanceAttributes {
  name: string;
  hostname: string;
  availabilityZone: string;
  publicKeys: { name: string; type: string; data: string }[];
  userData: string | null;
  metadata: Record<string, string>;
  vendorData: Record<string, unknown>;
}

export interface InstanceState extends InstanceAttributes {
  exists: boolean;
  projectId: string;
}

export type InstanceCommand = { id: string } & (
  | ({ type: 'RegisterInstance'; projectId: string } & InstanceAttributes)
  | { type: 'UpdateInstance'; changes: Partial<InstanceAttributes> }
  | { type: 'DeleteInstance' }
);

function evolve(state: InstanceState, event: MetaEvent): InstanceState {
  switch (event.type) {
    case 'InstanceRegistered':
      return { exists: true, ...event.data };
    case 'InstanceUpdated':
      return { ...state, ...event.data.changes };
    case 'InstanceDeleted':
      return initialState();
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function decide(command: InstanceCommand, state: Readonly<InstanceState>, _meta: CommandMetadata): readonly [] | readonly [MetaEvent] {
  if (command.type === 'RegisterInstance') {
    // The compute layer chooses the id: registering it again is a conflict, not an update.
    return createdEvent(command, state.exists, 'InstanceRegistered', () => new ConflictError('META.InstanceExists', `Instance ${command.id} already exists.`));
  }
  if (!state.exists) throw new NotFoundError('META.InstanceNotFound', `Instance ${command.id} could not be found.`);
  if (command.type === 'DeleteInstance') return [{ type: 'InstanceDeleted', data: {} }];
  const changes = Object.fromEntries(
    Object.entries(command.changes).filter(([k, v]) => v !== undefined && !same(state[k as keyof InstanceAttributes], v)),
  ) as Partial<InstanceAttributes>;
  return Object.keys(changes).length === 0 ? [] : [{ type: 'InstanceUpdated', data: { changes } }];
}

function initialState(): InstanceState {
  return { exists: false, projectId: '', name: '', hostname: '', availabilityZone: '', publicKeys: [], userData: null, metadata: {}, vendorData: {} };
}

export const instanceDecider: Decider<InstanceState, InstanceCommand, MetaEvent> = {
  context: META_CONTEXT,
  aggregate: META_AGGREGATES.instance,
  initialState,
  evolve,
  decide,
};
