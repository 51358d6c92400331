import { HA_VRID_MAX, HA_VRID_MIN, L3_AGGREGATES, L3_CONTEXT, type CommandMetadata, type Decider, type HaNetworkEvent } from '@ncp/contracts';
import { conflict } from './rules';

/** One project's HA network and the VRIDs of its HA routers (aggregate id: the project id). */
export interface HaNetworkState {
  /** the IPAM network, once claimed */
  readonly networkId: string | null;
  /** router id -> VRID */
  readonly vrids: ReadonlyMap<string, number>;
}

export type HaNetworkCommand =
  /** The network L3 made in IPAM for the project's HA routers; the first claim holds. */
  | { type: 'ClaimHaNetwork'; networkId: string }
  /** The router's VRID on the network: the one it has, else the lowest free one. */
  | { type: 'AllocateVrid'; routerId: string }
  /** Idempotent: a router that is gone, or no longer HA, gives its VRID back. */
  | { type: 'ReleaseVrid'; routerId: string }
  /** The network goes once no router has a VRID on it (a router placed meanwhile keeps it). */
  | { type: 'ReleaseHaNetwork'; networkId: string };

export function initialHaNetwork(): HaNetworkState {
  return { networkId: null, vrids: new Map() };
}

function evolve(state: HaNetworkState, event: HaNetworkEvent): HaNetworkState {
  switch (event.type) {
    case 'HaNetworkClaimed':
      return { ...state, networkId: event.data.networkId };
    case 'HaNetworkReleased':
      return { ...state, networkId: null };
    case 'HaVridAllocated':
      return { ...state, vrids: new Map(state.vrids).set(event.data.routerId, event.data.vrid) };
    case 'HaVridReleased': {
      const vrids = new Map(state.vrids);
      vrids.delete(event.data.routerId);
      return { ...state, vrids };
    }
  }
}

function decide(command: HaNetworkCommand, state: Readonly<HaNetworkState>, _meta: CommandMetadata): readonly [] | readonly [HaNetworkEvent] {
  switch (command.type) {
    case 'ClaimHaNetwork':
      if (state.networkId === command.networkId) return [];
      // the caller made a network in vain (another router's placement claimed first): it
      // deletes its own and uses this one
      if (state.networkId !== null) throw conflict('HaNetworkExists', `The project already has HA network ${state.networkId}.`);
      return [{ type: 'HaNetworkClaimed', data: { networkId: command.networkId } }];
    case 'AllocateVrid': {
      if (state.networkId === null) throw conflict('HaNetworkMissing', `Router ${command.routerId}: the project has no HA network yet.`);
      if (state.vrids.has(command.routerId)) return [];
      const used = new Set(state.vrids.values());
      for (let vrid = HA_VRID_MIN; vrid <= HA_VRID_MAX; vrid++) {
        if (!used.has(vrid)) return [{ type: 'HaVridAllocated', data: { routerId: command.routerId, vrid } }];
      }
      // Neutron's MaxVRIDAllocationTriesReached: a VRID is one byte on one segment
      throw conflict(
        'NoVRIDAvailable',
        `No more Virtual Router Identifier (VRID) available when creating router ${command.routerId}. The limit of number of HA Routers per tenant is ${HA_VRID_MAX}.`,
      );
    }
    case 'ReleaseVrid':
      return state.vrids.has(command.routerId) ? [{ type: 'HaVridReleased', data: { routerId: command.routerId } }] : [];
    case 'ReleaseHaNetwork':
      return state.networkId === command.networkId && state.vrids.size === 0 ? [{ type: 'HaNetworkReleased', data: { networkId: command.networkId } }] : [];
  }
}

export const haNetworkDecider: Decider<HaNetworkState, HaNetworkCommand, HaNetworkEvent> = {
  context: L3_CONTEXT,
  aggregate: L3_AGGREGATES.haNetwork,
  initialState: initialHaNetwork,
  evolve,
  decide,
};
