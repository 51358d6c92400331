import { L3_AGGREGATES, L3_CONTEXT, type CommandMetadata, type Decider, type L3RegistryEvent } from '@ncp/contracts';
import { conflict } from './rules';

/** Deployment-wide: a fixed address has at most one floating IP. */
export interface L3RegistryState {
  /** `<portId>|<fixed ip>` -> floating IP id */
  readonly claims: ReadonlyMap<string, string>;
}

export type L3RegistryCommand =
  | { type: 'ClaimFixedIp'; portId: string; fixedIpAddress: string; floatingIpId: string; floatingIpAddress: string }
  | { type: 'ReleaseFixedIp'; portId: string; fixedIpAddress: string; floatingIpId: string };

/** The registry's key of a fixed address: `<portId>|<fixed ip>`. */
export const claimKey = (portId: string, ip: string) => `${portId}|${ip}`;
const key = claimKey;

function evolve(state: L3RegistryState, event: L3RegistryEvent): L3RegistryState {
  const claims = new Map(state.claims);
  if (event.type === 'FixedIpFloatingIpClaimed') claims.set(key(event.data.portId, event.data.fixedIpAddress), event.data.floatingIpId);
  else claims.delete(key(event.data.portId, event.data.fixedIpAddress));
  return { claims };
}

function decide(command: L3RegistryCommand, state: Readonly<L3RegistryState>, _meta: CommandMetadata): readonly [] | readonly [L3RegistryEvent] {
  const holder = state.claims.get(key(command.portId, command.fixedIpAddress));
  if (command.type === 'ClaimFixedIp') {
    if (holder === command.floatingIpId) return [];
    if (holder !== undefined) {
      throw conflict(
        'FloatingIPPortAlreadyAssociated',
        `Cannot associate floating IP ${command.floatingIpAddress} (${command.floatingIpId}) with port ${command.portId} using fixed IP ${command.fixedIpAddress}, as that fixed IP already has a floating IP on external network (floating IP ${holder}).`,
      );
    }
    const { type: _t, floatingIpAddress: _a, ...data } = command;
    return [{ type: 'FixedIpFloatingIpClaimed', data }];
  }
  if (holder !== command.floatingIpId) return [];
  const { type: _t, ...data } = command;
  return [{ type: 'FixedIpFloatingIpReleased', data }];
}

export const l3RegistryDecider: Decider<L3RegistryState, L3RegistryCommand, L3RegistryEvent> = {
  context: L3_CONTEXT,
  aggregate: L3_AGGREGATES.registry,
  initialState: () => ({ claims: new Map() }),
  evolve,
  decide,
};
