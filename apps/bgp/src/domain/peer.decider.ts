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
import { parseCidr, parseIp } from '@ncp/netaddr';

/** What a peer lets the speakers learn from it, and whether its sessions run BFD (see `bgpPeerImportPolicy`). */
export interface PeerImportPolicy {
  acceptDefaultRoute: boolean;
  /** CIDRs in their normal form, each accepting itself and its more-specifics */
  acceptedPrefixes: string[];
  /** at most this many routes learned per session; null: no limit */
  maxPrefixes: number | null;
  bfd: boolean;
}

export interface PeerState extends PeerImportPolicy {
  exists: boolean;
  projectId: string;
  name: string;
  peerIp: string;
  remoteAs: number;
  authType: 'none' | 'md5';
  password: string | null;
}

export type PeerChanges = Partial<{ name: string; password: string | null } & PeerImportPolicy>;

export type PeerCommand = { id: string } & (
  | ({
      type: 'CreatePeer';
      projectId: string;
      name: string;
      peerIp: string;
      remoteAs: number;
      authType: 'none' | 'md5';
      password: string | null;
    } & PeerImportPolicy)
  | { type: 'UpdatePeer'; changes: PeerChanges }
  | { type: 'DeletePeer' }
);

/**
 * A session carries the routes of its peer's address family only: an accepted prefix of the
 * other family could never match.
 * @throws ValidationError `BGP.InvalidBgpPeerImportPolicy`
 */
function checkPrefixFamily(id: string, peerIp: string, prefixes: readonly string[]): void {
  const version = parseIp(peerIp).version;
  const other = prefixes.find((p) => parseCidr(p).version !== version);
  if (other !== undefined) {
    throw new ValidationError(
      'BGP.InvalidBgpPeerImportPolicy',
      `accepted_prefixes of BGP peer ${id}: ${other} is not IPv${version}, the family of its peer_ip ${peerIp}.`,
    );
  }
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

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
    checkPrefixFamily(id, command.peerIp, command.acceptedPrefixes);
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
      if (command.changes.acceptedPrefixes !== undefined) checkPrefixFamily(id, state.peerIp, command.changes.acceptedPrefixes);
      const changes = Object.fromEntries(Object.entries(command.changes).filter(([k, v]) => v !== undefined && !sameValue(state[k as keyof PeerChanges], v)));
      return Object.keys(changes).length === 0 ? [] : [{ type: 'BgpPeerUpdated', data: { changes } }];
    }
    case 'DeletePeer':
      return [{ type: 'BgpPeerDeleted', data: {} }];
  }
}

function initialState(): PeerState {
  return {
    exists: false,
    projectId: '',
    name: '',
    peerIp: '',
    remoteAs: 0,
    authType: 'none',
    password: null,
    acceptDefaultRoute: false,
    acceptedPrefixes: [],
    maxPrefixes: null,
    bfd: false,
  };
}

export const peerDecider: Decider<PeerState, PeerCommand, BgpPeerEvent> = {
  context: BGP_CONTEXT,
  aggregate: BGP_AGGREGATES.peer,
  initialState,
  evolve,
  decide,
};
