import { ConflictError, DHCP_AGGREGATES, DHCP_CONTEXT, type CommandMetadata, type Decider, type DhcpEvent } from '@ncp/contracts';

/** One network's DHCP server: where it runs and from which port. */
export interface DhcpServerState {
  host: string | null;
  row: string | null;
  pinned: boolean;
  portId: string | null;
  status: 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR';
}

export type DhcpServerCommand =
  /**
   * A placement names the host it found and the one it `replacing` (null: none, or a dead
   * agent's): it is taken only if the server is still there and unpinned, so it never undoes
   * a pin or another placement made meanwhile.
   */
  | { type: 'Schedule'; host: string; row: string; replacing: string | null }
  /** An operator's "add network to DHCP agent": holds until unpinned, even while the agent is down. */
  | { type: 'Pin'; host: string; row: string; agentId: string; networkId: string }
  /** An operator's "remove network from DHCP agent": only from the agent that hosts it. */
  | { type: 'Unpin'; host: string; agentId: string; networkId: string }
  | { type: 'AssignPort'; portId: string }
  /** No subnet needs DHCP: an automatic placement goes, a pinned one keeps its agent and gives up its port. */
  | { type: 'Withdraw'; reason: string }
  | { type: 'Unschedule'; reason: string }
  | { type: 'SetStatus'; status: DhcpServerState['status']; reason: string };

function evolve(state: DhcpServerState, event: DhcpEvent): DhcpServerState {
  switch (event.type) {
    case 'DhcpServerScheduled':
      // The port stays: moving a server re-binds its port to the new host.
      return { ...state, host: event.data.host, row: event.data.row, pinned: event.data.pinned, status: 'BUILD' };
    case 'DhcpPortAssigned':
      return { ...state, portId: event.data.portId };
    case 'DhcpPortReleased':
      return { ...state, portId: null };
    case 'DhcpServerUnscheduled':
      return { host: null, row: null, pinned: false, portId: null, status: 'DOWN' };
    case 'DhcpServerStatusChanged':
      return { ...state, status: event.data.status };
  }
}

function unschedule(state: Readonly<DhcpServerState>, reason: string): readonly [] | readonly [DhcpEvent] {
  if (state.host === null && state.portId === null) return [];
  return [{ type: 'DhcpServerUnscheduled', data: { host: state.host ?? '', reason } }];
}

/** Every command but the operator's pin and unpin is idempotent: repeating one that already holds records nothing. */
function decide(command: DhcpServerCommand, state: Readonly<DhcpServerState>, _meta: CommandMetadata): readonly [] | readonly [DhcpEvent] {
  switch (command.type) {
    case 'Schedule':
      if (state.pinned || state.host !== command.replacing || state.host === command.host) return [];
      return [{ type: 'DhcpServerScheduled', data: { host: command.host, row: command.row, pinned: false } }];
    case 'Pin':
      if (state.pinned && state.host === command.host) {
        throw new ConflictError(
          'DHCP.NetworkHostedByDHCPAgent',
          `The network ${command.networkId} has been already hosted by the DHCP Agent ${command.agentId}.`,
        );
      }
      return [{ type: 'DhcpServerScheduled', data: { host: command.host, row: command.row, pinned: true } }];
    case 'Unpin':
      if (state.host !== command.host) {
        throw new ConflictError('DHCP.NetworkNotHostedByDhcpAgent', `The network ${command.networkId} is not hosted by the DHCP agent ${command.agentId}.`);
      }
      return [{ type: 'DhcpServerUnscheduled', data: { host: command.host, reason: `removed from agent ${command.agentId}` } }];
    case 'AssignPort':
      if (state.portId === command.portId) return [];
      return [{ type: 'DhcpPortAssigned', data: { portId: command.portId } }];
    case 'Withdraw':
      if (state.pinned) return state.portId === null ? [] : [{ type: 'DhcpPortReleased', data: { portId: state.portId } }];
      return unschedule(state, command.reason);
    case 'Unschedule':
      return unschedule(state, command.reason);
    case 'SetStatus':
      if (state.host === null || state.status === command.status) return [];
      return [{ type: 'DhcpServerStatusChanged', data: { status: command.status, reason: command.reason } }];
  }
}

export const dhcpServerDecider: Decider<DhcpServerState, DhcpServerCommand, DhcpEvent> = {
  context: DHCP_CONTEXT,
  aggregate: DHCP_AGGREGATES.server,
  initialState: () => ({ host: null, row: null, pinned: false, portId: null, status: 'DOWN' }),
  evolve,
  decide,
};
