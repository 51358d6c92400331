import { L3_AGGREGATES, L3_CONTEXT, type CommandMetadata, type Decider, type FloatingIpEvent } from '@ncp/contracts';
import { checkRevision, conflict, mayChange, notFound } from './rules';

export interface FloatingIpState {
  readonly exists: boolean;
  readonly projectId: string;
  readonly floatingNetworkId: string;
  readonly floatingPortId: string;
  readonly portId: string | null;
  readonly fixedIpAddress: string | null;
  readonly routerId: string | null;
  readonly status: string;
  readonly revision: number;
}

export type FloatingIpCommand =
  | {
      type: 'CreateFloatingIp';
      id: string;
      projectId: string;
      description: string;
      floatingNetworkId: string;
      floatingPortId: string;
      subnetId: string;
      floatingIpAddress: string;
    }
  /**
   * `routerId` is the router that recorded this floating IP first (AttachFloatingIp): the
   * router decides reachability on its own state; a floating IP cannot see routers.
   */
  | { type: 'Associate'; id: string; portId: string; fixedIpAddress: string; routerId: string; expectedRevision?: number }
  | { type: 'Disassociate'; id: string; expectedRevision?: number }
  /** The port is gone (IPAM's PortDeleted): disassociated if it still points at that port, else nothing. */
  | { type: 'ForgetPort'; id: string; portId: string }
  | { type: 'UpdateDescription'; id: string; description: string; expectedRevision?: number }
  | { type: 'SetStatus'; id: string; status: 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR'; reason: string }
  /** `onlyIfUnassociated`: an external network's deletion takes its floating IPs that no port uses (Neutron). */
  | { type: 'DeleteFloatingIp'; id: string; onlyIfUnassociated?: boolean };

export function initialFloatingIp(): FloatingIpState {
  return {
    exists: false,
    projectId: '',
    floatingNetworkId: '',
    floatingPortId: '',
    portId: null,
    fixedIpAddress: null,
    routerId: null,
    status: 'DOWN',
    revision: 0,
  };
}

function evolve(state: FloatingIpState, event: FloatingIpEvent): FloatingIpState {
  switch (event.type) {
    case 'FloatingIpCreated':
      return {
        ...state,
        exists: true,
        projectId: event.data.projectId,
        floatingNetworkId: event.data.floatingNetworkId,
        floatingPortId: event.data.floatingPortId,
        revision: 1,
      };
    case 'FloatingIpAssociated':
      return { ...state, ...event.data, revision: state.revision + 1 };
    case 'FloatingIpDisassociated':
      return { ...state, portId: null, fixedIpAddress: null, routerId: null, status: 'DOWN', revision: state.revision + 1 };
    case 'FloatingIpUpdated':
      return { ...state, revision: state.revision + 1 };
    case 'FloatingIpStatusChanged':
      return { ...state, status: event.data.status };
    case 'FloatingIpDeleted':
      return { ...state, exists: false, revision: state.revision + 1 };
  }
}

function decide(command: FloatingIpCommand, state: Readonly<FloatingIpState>, meta: CommandMetadata): readonly [] | readonly [FloatingIpEvent] {
  if (command.type === 'CreateFloatingIp') {
    if (state.exists || state.revision > 0) throw conflict('FloatingIPExists', `Floating IP ${command.id} already exists.`);
    const { type: _t, id: _id, ...data } = command;
    return [{ type: 'FloatingIpCreated', data }];
  }
  if (command.type === 'ForgetPort') {
    // A reaction to a fact: nothing to refuse, and redelivery changes nothing.
    return state.exists && state.portId === command.portId ? [{ type: 'FloatingIpDisassociated', data: {} }] : [];
  }
  const missing = () => notFound('FloatingIPNotFound', `Floating IP ${command.id} could not be found`);
  if (!state.exists) throw missing();
  mayChange(meta, 'get_floatingip', command.type === 'DeleteFloatingIp' ? 'delete_floatingip' : 'update_floatingip', { projectId: state.projectId }, missing);
  switch (command.type) {
    case 'Associate':
      checkRevision(state.revision, command.expectedRevision);
      if (state.portId === command.portId && state.fixedIpAddress === command.fixedIpAddress && state.routerId === command.routerId) return [];
      return [{ type: 'FloatingIpAssociated', data: { portId: command.portId, fixedIpAddress: command.fixedIpAddress, routerId: command.routerId } }];
    case 'Disassociate':
      checkRevision(state.revision, command.expectedRevision);
      return state.portId === null ? [] : [{ type: 'FloatingIpDisassociated', data: {} }];
    case 'UpdateDescription':
      checkRevision(state.revision, command.expectedRevision);
      return [{ type: 'FloatingIpUpdated', data: { changes: { description: command.description } } }];
    case 'SetStatus':
      return state.status === command.status ? [] : [{ type: 'FloatingIpStatusChanged', data: { status: command.status, reason: command.reason } }];
    case 'DeleteFloatingIp':
      if (command.onlyIfUnassociated === true && state.portId !== null) return [];
      return [{ type: 'FloatingIpDeleted', data: {} }];
  }
}

export const floatingIpDecider: Decider<FloatingIpState, FloatingIpCommand, FloatingIpEvent> = {
  context: L3_CONTEXT,
  aggregate: L3_AGGREGATES.floatingIp,
  initialState: initialFloatingIp,
  evolve,
  decide,
};
