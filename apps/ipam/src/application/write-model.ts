import {
  IPAM_REGISTRY_ID,
  type AddressScopeEvent,
  type BulkCreateEvent,
  type CommandMetadata,
  type NetworkEvent,
  type RegistryEvent,
  type SubnetPoolEvent,
} from '@ncp/contracts';
import { AggregateRepository, type JetStreamEventStore, type SnapshotStore } from '@ncp/eventstore';
import { addressScopeDecider, type AddressScopeCommand, type AddressScopeState } from '../domain/address-scope.decider';
import { bulkCreateDecider, type BulkCreateCommand, type BulkCreateState } from '../domain/bulk-create.decider';
import { networkDecider, type MtuPolicy, type NetworkCommand } from '../domain/network.decider';
import { type NetworkState } from '../domain/network.state';
import { registryDecider, type RegistryCommand, type RegistryState, type SegmentPolicy } from '../domain/registry.decider';
import { subnetPoolDecider, type SubnetPoolCommand, type SubnetPoolState } from '../domain/subnet-pool.decider';

/** Policies from configuration that commands carry into the deciders. */
export interface IpamPolicies {
  readonly segments: SegmentPolicy;
  readonly mtu: MtuPolicy;
  readonly macPrefix: string;
}

export type { Written } from '@ncp/nest-common';

/** The IPAM aggregates, each behind its repository. */
export class IpamWriteModel {
  readonly networks: AggregateRepository<NetworkState, NetworkCommand, NetworkEvent>;
  readonly pools: AggregateRepository<SubnetPoolState, SubnetPoolCommand, SubnetPoolEvent>;
  readonly scopes: AggregateRepository<AddressScopeState, AddressScopeCommand, AddressScopeEvent>;
  readonly registry: AggregateRepository<RegistryState, RegistryCommand, RegistryEvent>;
  readonly bulkCreates: AggregateRepository<BulkCreateState, BulkCreateCommand, BulkCreateEvent>;

  constructor(
    store: JetStreamEventStore,
    snapshots: SnapshotStore,
    readonly policies: IpamPolicies,
    onSnapshotError?: (subject: string, error: unknown) => void,
  ) {
    this.networks = new AggregateRepository(store, networkDecider, { snapshots, onSnapshotError, cacheSize: 2000 });
    this.pools = new AggregateRepository(store, subnetPoolDecider, { cacheSize: 1000 });
    this.scopes = new AggregateRepository(store, addressScopeDecider, { cacheSize: 1000 });
    this.registry = new AggregateRepository(store, registryDecider, { snapshots, onSnapshotError });
    this.bulkCreates = new AggregateRepository(store, bulkCreateDecider, { cacheSize: 100 });
  }

  registryCommand(command: RegistryCommand, meta: CommandMetadata) {
    return this.registry.execute(IPAM_REGISTRY_ID, command, meta);
  }
}

/**
 * Metadata of follow-up steps a service takes on its own behalf within a request: a service's
 * own, without the caller's roles, so the policy gives it every role.
 */
export function systemMeta(meta: CommandMetadata): CommandMetadata {
  const { roles: _roles, ...rest } = meta;
  return { ...rest, isAdmin: true, actor: `ipam (for ${meta.actor})` };
}
