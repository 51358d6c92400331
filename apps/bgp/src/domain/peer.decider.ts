import {
  BGP_AGGREGATES,
  BGP_CONTEXT,
  ConflictError,
  NotFoundError,
  ValidationError,
  createdEvent,
  type BgpPeerEvent,
  type CommandMetadata,
  type Decider,
} from '@ncp/contracts';

export interface PeerState {
  exists: boolean;
  projectId: string;
  name: string;
  peerIp: string;
  remoteAs: number;
  authType: 'none' | 'md5';
  password: string | null;
}

export type PeerCommand = { id: string } & (
  | { type: 'CreatePeer'; projectId: string; name: string; peerIp: string; remoteAs: number; authType: 'none' | 'md5'; password: string | null }
  | { type: 'UpdatePeer'; changes: { name?: string; password?: string | null } }
  | { type: 'DeletePeer' }
);

function evolve(state: PeerState, event: BgpPeerEvent): PeerState {
  switch (event.type) {
    case 'BgpPeerCreated':
      return { exists: true, ...event.data };
    case 'BgpPeerUpdated':
      return { ...state, ...event.data.changes };
    case 'BgpPeerDeleted':
      return initialState();
  }
}

function decide(command: PeerCommand, state: Readonly<PeerState>, _meta: CommandMetadata): readonly [] | readonly [BgpPeerEvent] {
  const id = command.id;
  if (command.type === 'CreatePeer') {
    return createdEvent(command, state.exists, 'BgpPeerCreated', () => new ConflictError('BGP.BgpPeerExists', `BGP peer ${id} already exists.`));
  }
  if (!state.exists) throw new NotFoundError('BGP.BgpPeerNotFound', `BGP peer ${id} could not be found.`);
  switch (command.type) {
    case 'UpdatePeer': {
      // The password follows the auth_type the peer was created with, which never changes.
      if (state.authType === 'none' && command.changes.password !== undefined && command.changes.password !== null) {
        throw new ValidationError('BGP.InvalidBgpPeerMd5Authentication', `BGP peer ${id} has auth_type none: it takes no password.`);
      }
      if (state.authType === 'md5' && command.changes.password === null) {
        throw new ValidationError('BGP.InvalidBgpPeerMd5Authentication', `BGP peer ${id} has auth_type md5: its password cannot be removed.`);
      }
      const changes = Object.fromEntries(Object.entries(command.changes).filter(([k, v]) => v !== undefined && state[k as 'name' | 'password'] !== v));
      return Object.keys(changes).length === 0 ? [] : [{ type: 'BgpPeerUpdated', data: { changes } }];
    }
    case 'DeletePeer':
      return [{ type: 'BgpPeerDeleted', data: {} }];
  }
}

function initialState(): PeerState {
  return { exists: false, projectId: '', name: '', peerIp: '', remoteAs: 0, authType: 'none', password: null };
}

export const peerDecider: Decider<PeerState, PeerCommand, BgpPeerEvent> = {
  context: BGP_CONTEXT,
  aggregate: BGP_AGGREGATES.peer,
  initialState,
  evolve,
  decide,
};
