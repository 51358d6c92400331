import { DHCP_AGGREGATES, DHCP_CONTEXT, type CommandMetadata, type Decider, type DhcpEvent } from '@ncp/contracts';

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
   * A pin (an operator's "add network to DHCP agent") always holds. A placement (`pinned`
   * false) names the host it found, `replacing` (null: none, or a dead agent's): it is taken
   * only if the server is still there and unpinned, so it never undoes a pin or another
   * placement made meanwhile.
   */
  | { type: 'Schedule'; host: string; row: string; pinned: true }
  | { type: 'Schedule'; host: string; row: string; pinned: false; replacing: string | null }
  | { type: 'AssignPort'; portId: string }
  | { type: 'Unschedule'; reason: string }
  | { type: 'SetStatus'; status: DhcpServerState['status']; reason: string };

function evolve(state: DhcpServerState, event: DhcpEvent): DhcpServerState {
  switch (event.type) {
    case 'DhcpServerScheduled':
      // The port stays: moving a server re-binds its port to the new host.
      return { ...state, host: event.data.host, row: event.data.row, pinned: event.data.pinned, status: 'BUILD' };
    case 'DhcpPortAssigned':
      return { ...state, portId: event.data.portId };
    case 'DhcpServerUnscheduled':
      return { host: null, row: null, pinned: false, portId: null, status: 'DOWN' };
    case 'DhcpServerStatusChanged':
      return { ...state, status: event.data.status };
  }
}

/** Every command is idempotent: repeating one that already holds records nothing. */
function decide(command: DhcpServerCommand, state: Readonly<DhcpServerState>, _meta: CommandMetadata): readonly [] | readonly [DhcpEvent] {
  switch (command.type) {
    case 'Schedule':
      if (!command.pinned && (state.pinned || state.host !== command.replacing)) return [];
      if (state.host === command.host && state.row === command.row && state.pinned === command.pinned) return [];
      return [{ type: 'DhcpServerScheduled', data: { host: command.host, row: command.row, pinned: command.pinned } }];
    case 'AssignPort':
      if (state.portId === command.portId) return [];
      return [{ type: 'DhcpPortAssigned', data: { portId: command.portId } }];
    case 'Unschedule':
      if (state.host === null && state.portId === null) return [];
      return [{ type: 'DhcpServerUnscheduled', data: { host: state.host ?? '', reason: command.reason } }];
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
