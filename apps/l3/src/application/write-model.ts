import {
  L3_REGISTRY_ID,
  isDomainError,
  type CommandMetadata,
  type FloatingIpEvent,
  type HaNetworkEvent,
  type L3RegistryEvent,
  type RouterEvent,
} from '@ncp/contracts';
import { AggregateRepository, type IpamClient, type JetStreamEventStore } from '@ncp/eventstore';
import { floatingIpDecider, type FloatingIpCommand, type FloatingIpState } from '../domain/floating-ip.decider';
import { haNetworkDecider, type HaNetworkCommand, type HaNetworkState } from '../domain/ha-network.decider';
import { l3RegistryDecider, type L3RegistryCommand, type L3RegistryState } from '../domain/registry.decider';
import { routerDecider, type RouterCommand, type RouterState } from '../domain/router.decider';

export type { Written } from '@ncp/nest-common';

/** What L3 asks of IPAM: its router and floating IP ports, and its HA networks. */
export type IpamPorts = Pick<IpamClient, 'createPort' | 'updatePort' | 'deletePort' | 'createNetwork' | 'deleteNetwork' | 'createSubnet' | 'deleteSubnet'>;

/**
 * Whether a failed step certainly wrote nothing: a refusal (the decider said no, the aggregate
 * kept changing, the event was too large) appends nothing, while a store or service that did
 * not answer (`unavailable`: the change may or may not have been stored) or any other failure
 * may have. Compensations free only what was certainly not kept.
 */
export function certainlyNotWritten(error: unknown): boolean {
  return isDomainError(error) && error.kind !== 'unavailable';
}

/** The L3 aggregates, each behind its repository. */
export class L3WriteModel {
  readonly routers: AggregateRepository<RouterState, RouterCommand, RouterEvent>;
  readonly floatingIps: AggregateRepository<FloatingIpState, FloatingIpCommand, FloatingIpEvent>;
  readonly registry: AggregateRepository<L3RegistryState, L3RegistryCommand, L3RegistryEvent>;
  /** one per project: its HA network and its HA routers' VRIDs */
  readonly haNetworks: AggregateRepository<HaNetworkState, HaNetworkCommand, HaNetworkEvent>;

  constructor(store: JetStreamEventStore) {
    this.routers = new AggregateRepository(store, routerDecider);
    this.floatingIps = new AggregateRepository(store, floatingIpDecider);
    this.registry = new AggregateRepository(store, l3RegistryDecider);
    this.haNetworks = new AggregateRepository(store, haNetworkDecider);
  }

  registryCommand(command: L3RegistryCommand, meta: CommandMetadata) {
    return this.registry.execute(L3_REGISTRY_ID, command, meta);
  }
}

const SERVICE_ACTOR = 'l3 (for ';

/**
 * L3 acting on IPAM on its own authority (its router and floating IP ports): a service's own
 * metadata, without the caller's roles, so the policy gives it every role (binding a port's
 * host and profile is the service role's).
 */
export function asService(meta: CommandMetadata): CommandMetadata {
  const { roles: _roles, ...rest } = meta;
  return { ...rest, isAdmin: true, actor: `${SERVICE_ACTOR}${meta.actor})` };
}

/** Whether an event was written by L3 on its own authority (a port L3 created, for instance). */
export function isL3Actor(actor: string): boolean {
  return actor.startsWith(SERVICE_ACTOR);
}
