import {
  BGP_AGGREGATES,
  BGP_CONTEXT,
  ConflictError,
  NotFoundError,
  ValidationError,
  createdEvent,
  type BgpLearnedRoute,
  type BgpSpeakerEvent,
  type CommandMetadata,
  type Decider,
} from '@ncp/contracts';
import { normalizeIp, parseIp } from '@ncp/netaddr';
import { acceptedRoutes, sameRoutes, sessionKey } from './learned-routes';
import { type PeerImportPolicy } from './peer.decider';

export interface SpeakerHost {
  readonly host: string;
  readonly row: string;
  /** placed by the dragent API: stays while its agent is down, until removed there */
  readonly pinned: boolean;
}

export interface SpeakerAttributes {
  name: string;
  advertiseFloatingIpHostRoutes: boolean;
  advertiseTenantNetworks: boolean;
}

/** A peer the speaker peers with, and its address (null: added before addresses were recorded). */
export interface SpeakerPeer {
  readonly peerId: string;
  readonly peerIp: string | null;
}

export interface SpeakerState extends SpeakerAttributes {
  exists: boolean;
  projectId: string;
  localAs: number;
  ipVersion: 4 | 6 | null;
  peers: SpeakerPeer[];
  networkIds: string[];
  hosts: SpeakerHost[];
  /** what each session (`sessionKey(peer, host)`) learned, of what its peer accepts; sessions that learned nothing are absent */
  learned: Record<string, BgpLearnedRoute[]>;
}

/** Every command names its speaker (`id`), for the messages. */
export type SpeakerCommand = { id: string } & (
  | ({ type: 'CreateSpeaker'; projectId: string; localAs: number; ipVersion: 4 | 6 | null } & SpeakerAttributes)
  | { type: 'UpdateSpeaker'; changes: Partial<SpeakerAttributes> }
  /**
   * `peerIp`: the peer's address, a fact of the peer that never changes. The speaker keeps
   * the addresses of its peers, so "one session per neighbour address" and the address family
   * are decided here on the peers it has now: of two concurrent additions of peers at one
   * address the second finds the first.
   */
  | { type: 'AddPeer'; peerId: string; peerIp: string }
  | { type: 'RemovePeer'; peerId: string; ifPresent?: boolean }
  | { type: 'AddNetwork'; networkId: string }
  | { type: 'RemoveNetwork'; networkId: string }
  /** Automatic placement: ignored while the speaker is pinned (an operator's placement holds). */
  | { type: 'Schedule'; hosts: SpeakerHost[]; reason: string }
  /** The dragent API: added to / removed from an agent, on the hosts the speaker has now. */
  | { type: 'Pin'; host: string; row: string; agentId: string }
  | { type: 'Unpin'; host: string; agentId: string }
  | { type: 'DeleteSpeaker' }
  /**
   * An agent's report of what one session (a peer, on a host of the speaker) holds now; `peer`:
   * the peer's address and import policy, facts of the peer aggregate, as the report found them.
   */
  | { type: 'LearnRoutes'; peerId: string; host: string; routes: BgpLearnedRoute[]; peer: { peerIp: string } & PeerImportPolicy }
);

/** The sessions' routes that stay when peers or hosts go. */
function keepLearned(learned: Record<string, BgpLearnedRoute[]>, keep: (peerId: string, host: string) => boolean): Record<string, BgpLearnedRoute[]> {
  return Object.fromEntries(
    Object.entries(learned).filter(([key]) => {
      const [peerId = '', host = ''] = key.split(' ');
      return keep(peerId, host);
    }),
  );
}

const notFound = (id: string) => new NotFoundError('BGP.BgpSpeakerNotFound', `BGP speaker ${id} could not be found.`);

const hasPeer = (state: Readonly<SpeakerState>, peerId: string) => state.peers.some((p) => p.peerId === peerId);

const sameHosts = (a: readonly SpeakerHost[], b: readonly SpeakerHost[]) =>
  a.length === b.length && a.every((h, i) => h.host === b[i]?.host && h.row === b[i]?.row && h.pinned === b[i]?.pinned);

function evolve(state: SpeakerState, event: BgpSpeakerEvent): SpeakerState {
  switch (event.type) {
    case 'BgpSpeakerCreated':
      return { ...state, exists: true, ...event.data };
    case 'BgpSpeakerUpdated':
      return { ...state, ...event.data.changes };
    case 'BgpSpeakerPeerAdded':
      return { ...state, peers: [...state.peers, { peerId: event.data.peerId, peerIp: event.data.peerIp }] };
    case 'BgpSpeakerPeerRemoved':
      return {
        ...state,
        peers: state.peers.filter((p) => p.peerId !== event.data.peerId),
        learned: keepLearned(state.learned, (peerId) => peerId !== event.data.peerId),
      };
    case 'BgpSpeakerNetworkAdded':
      return { ...state, networkIds: [...state.networkIds, event.data.networkId] };
    case 'BgpSpeakerNetworkRemoved':
      return { ...state, networkIds: state.networkIds.filter((n) => n !== event.data.networkId) };
    case 'BgpSpeakerScheduled':
      return { ...state, hosts: event.data.hosts, learned: keepLearned(state.learned, (_, host) => event.data.hosts.some((h) => h.host === host)) };
    case 'BgpSpeakerRoutesLearned': {
      const key = sessionKey(event.data.peerId, event.data.host);
      const { [key]: _old, ...others } = state.learned;
      return { ...state, learned: event.data.routes.length === 0 ? others : { ...others, [key]: event.data.routes } };
    }
    case 'BgpSpeakerDeleted':
      return initialState();
  }
}

function decide(command: SpeakerCommand, state: Readonly<SpeakerState>, _meta: CommandMetadata): readonly [] | readonly [BgpSpeakerEvent] {
  const id = command.id;
  if (command.type === 'CreateSpeaker') {
    return createdEvent(command, state.exists, 'BgpSpeakerCreated', () => new ConflictError('BGP.BgpSpeakerExists', `BGP speaker ${id} already exists.`));
  }
  if (!state.exists) {
    if (command.type === 'Schedule' && command.hosts.length === 0) return [];
    if (command.type === 'LearnRoutes') return []; // a late report of a deleted speaker
    if (command.type === 'RemovePeer' && command.ifPresent) return [];
    throw notFound(id);
  }
  switch (command.type) {
    case 'UpdateSpeaker': {
      const changes = Object.fromEntries(Object.entries(command.changes).filter(([k, v]) => v !== undefined && state[k as keyof SpeakerAttributes] !== v));
      return Object.keys(changes).length === 0 ? [] : [{ type: 'BgpSpeakerUpdated', data: { changes } }];
    }
    case 'AddPeer': {
      if (hasPeer(state, command.peerId)) return [];
      const version = parseIp(command.peerIp).version;
      if (state.ipVersion !== null && version !== state.ipVersion) {
        throw new ValidationError(
          'BGP.InvalidBgpPeer',
          `BGP peer ${command.peerId} (${command.peerIp}) is IPv${version}; BGP speaker ${id} serves IPv${state.ipVersion} only.`,
        );
      }
      const address = normalizeIp(command.peerIp);
      if (state.peers.some((p) => p.peerIp !== null && normalizeIp(p.peerIp) === address)) {
        throw new ConflictError(
          'BGP.DuplicateBgpPeerIpException',
          `BGP Speaker ${id} is already configured to peer with a BGP Peer at ${command.peerIp}, it cannot peer with BGP Peer ${command.peerId}.`,
        );
      }
      return [{ type: 'BgpSpeakerPeerAdded', data: { peerId: command.peerId, peerIp: address } }];
    }
    case 'RemovePeer':
      if (!hasPeer(state, command.peerId)) {
        if (command.ifPresent) return [];
        throw new NotFoundError('BGP.BgpSpeakerPeerNotAssociated', `BGP peer ${command.peerId} is not associated with BGP speaker ${id}.`);
      }
      return [{ type: 'BgpSpeakerPeerRemoved', data: { peerId: command.peerId } }];
    case 'AddNetwork':
      if (state.networkIds.includes(command.networkId)) {
        throw new ConflictError('BGP.BgpSpeakerNetworkBindingError', `Network ${command.networkId} is already bound to BGP speaker ${id}.`);
      }
      return [{ type: 'BgpSpeakerNetworkAdded', data: { networkId: command.networkId } }];
    case 'RemoveNetwork':
      if (!state.networkIds.includes(command.networkId)) {
        throw new NotFoundError('BGP.NetworkNotBound', `Network ${command.networkId} is not bound to BGP speaker ${id}.`);
      }
      return [{ type: 'BgpSpeakerNetworkRemoved', data: { networkId: command.networkId } }];
    case 'Schedule':
      if (state.hosts.some((h) => h.pinned)) return [];
      return sameHosts(state.hosts, command.hosts) ? [] : [{ type: 'BgpSpeakerScheduled', data: { hosts: command.hosts, reason: command.reason } }];
    case 'Pin': {
      if (state.hosts.some((h) => h.host === command.host && h.pinned)) {
        throw new ConflictError('BGP.DrAgentAssociationError', `BGP speaker ${id} is already hosted by the dynamic routing agent ${command.agentId}.`);
      }
      // A pinned speaker runs where it is pinned only: automatic placements go.
      const hosts = [...state.hosts.filter((h) => h.pinned), { host: command.host, row: command.row, pinned: true }].sort((a, b) =>
        a.host.localeCompare(b.host),
      );
      return [{ type: 'BgpSpeakerScheduled', data: { hosts, reason: `added to agent ${command.agentId}` } }];
    }
    case 'Unpin':
      if (!state.hosts.some((h) => h.host === command.host)) {
        throw new ConflictError('BGP.DrAgentNotHostingBgpSpeaker', `BGP speaker ${id} is not hosted by the dynamic routing agent ${command.agentId}.`);
      }
      return [
        { type: 'BgpSpeakerScheduled', data: { hosts: state.hosts.filter((h) => h.host !== command.host), reason: `removed from agent ${command.agentId}` } },
      ];
    case 'DeleteSpeaker':
      return [{ type: 'BgpSpeakerDeleted', data: {} }];
    case 'LearnRoutes': {
      // A late report of a host the speaker left, or of a peer it no longer has, is stale.
      if (!hasPeer(state, command.peerId) || !state.hosts.some((h) => h.host === command.host)) return [];
      const routes = acceptedRoutes(command.peer, command.routes);
      const known = state.learned[sessionKey(command.peerId, command.host)] ?? [];
      if (sameRoutes(known, routes)) return [];
      return [{ type: 'BgpSpeakerRoutesLearned', data: { peerId: command.peerId, host: command.host, routes } }];
    }
  }
}

function initialState(): SpeakerState {
  return {
    exists: false,
    projectId: '',
    name: '',
    localAs: 0,
    ipVersion: null,
    advertiseFloatingIpHostRoutes: true,
    advertiseTenantNetworks: true,
    peers: [],
    networkIds: [],
    hosts: [],
    learned: {},
  };
}

export const speakerDecider: Decider<SpeakerState, SpeakerCommand, BgpSpeakerEvent> = {
  context: BGP_CONTEXT,
  aggregate: BGP_AGGREGATES.speaker,
  initialState,
  evolve,
  decide,
};
