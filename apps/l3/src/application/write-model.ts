import { L3_REGISTRY_ID, type CommandMetadata, type FloatingIpEvent, type L3RegistryEvent, type RouterEvent } from '@ncp/contracts';
import { AggregateRepository, type JetStreamEventStore } from '@ncp/eventstore';
import { floatingIpDecider, type FloatingIpCommand, type FloatingIpState } from '../domain/floating-ip.decider';
import { l3RegistryDecider, type L3RegistryCommand, type L3RegistryState } from '../domain/registry.decider';
import { routerDecider, type RouterCommand, type RouterState } from '../domain/router.decider';

export type { Written } from '@ncp/nest-common';

/** The L3 aggregates, each behind its repository. */
export class L3WriteModel {
  readonly routers: AggregateRepository<RouterState, RouterCommand, RouterEvent>;
  readonly floatingIps: AggregateRepository<FloatingIpState, FloatingIpCommand, FloatingIpEvent>;
  readonly registry: AggregateRepository<L3RegistryState, L3RegistryCommand, L3RegistryEvent>;

  constructor(store: JetStreamEventStore) {
    this.routers = new AggregateRepository(store, routerDecider);
    this.floatingIps = new AggregateRepository(store, floatingIpDecider);
    this.registry = new AggregateRepository(store, l3RegistryDecider);
  }

  registryCommand(command: L3RegistryCommand, meta: CommandMetadata) {
    return this.registry.execute(L3_REGISTRY_ID, command, meta);
  }
}

/** L3 acting on IPAM on its own authority (its router and floating IP ports). */
export function asService(meta: CommandMetadata): CommandMetadata {
  return { ...meta, isAdmin: true, actor: `l3 (for ${meta.actor})` };
}
