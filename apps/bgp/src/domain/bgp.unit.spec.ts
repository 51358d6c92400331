import { describe, expect, it } from 'vitest';
import { BgpPeerCreated, BgpSpeakerPeerAdded, EventRegistry, type BgpPeerEvent, type BgpSpeakerEvent } from '@ncp/contracts';
import { deciderSpec } from '@ncp/testing';
import { acceptedRoutes, MAX_LEARNED_ROUTES } from './learned-routes';
import { peerDecider, type PeerImportPolicy } from './peer.decider';
import { chooseSpeakerHosts, familiesClash, type BgpAgentCandidate } from './placement';
import { bgpRouterId, speakerIntent, type PeerFacts } from './speaker-intent';
import { speakerDecider } from './speaker.decider';

const S = 'b6900000-0000-4000-8000-000000000001';

describe('speaker decider', () => {
  const spec = deciderSpec(speakerDecider);
  const createdOf = (ipVersion: 4 | 6 | null): BgpSpeakerEvent => ({
    type: 'BgpSpeakerCreated',
    data: { projectId: 'p', name: 's', localAs: 64711, ipVersion, advertiseFloatingIpHostRoutes: true, advertiseTenantNetworks: true },
  });
  const created = createdOf(4);
  const peerAdded: BgpSpeakerEvent = { type: 'BgpSpeakerPeerAdded', data: { peerId: 'peer-1', peerIp: '10.0.0.1' } };

  it('adds a peer once; refuses a second peer at an address it already peers with, on the peers it has now', () => {
    spec.given([created]).when({ type: 'AddPeer', id: S, peerId: 'peer-1', peerIp: '10.0.0.1' }).then([peerAdded]);
    spec.given([created, peerAdded]).when({ type: 'AddPeer', id: S, peerId: 'peer-1', peerIp: '10.0.0.1' }).then([]);
    spec
      .given([created, peerAdded])
      .when({ type: 'AddPeer', id: S, peerId: 'peer-2', peerIp: '10.0.0.1' })
      .thenThrows('BGP.DuplicateBgpPeerIpException', /already configured to peer with a BGP Peer at 10.0.0.1, it cannot peer with BGP Peer peer-2/);
    spec
      .given([created, peerAdded])
      .when({ type: 'AddPeer', id: S, peerId: 'peer-3', peerIp: '10.0.0.3' })
      .then([{ type: 'BgpSpeakerPeerAdded', data: { peerId: 'peer-3', peerIp: '10.0.0.3' } }]);
    // once the first peer is gone, its address is free on this speaker
    spec
      .given([created, peerAdded, { type: 'BgpSpeakerPeerRemoved', data: { peerId: 'peer-1' } }])
      .when({ type: 'AddPeer', id: S, peerId: 'peer-2', peerIp: '10.0.0.1' })
      .then([{ type: 'BgpSpeakerPeerAdded', data: { peerId: 'peer-2', peerIp: '10.0.0.1' } }]);
  });

  it('compares addresses in their normal form, and records the normal form', () => {
    const v6 = createdOf(6);
    const added6: BgpSpeakerEvent = { type: 'BgpSpeakerPeerAdded', data: { peerId: 'peer-1', peerIp: '2001:db8::1' } };
    spec.given([v6]).when({ type: 'AddPeer', id: S, peerId: 'peer-1', peerIp: '2001:DB8:0::1' }).then([added6]);
    spec.given([v6, added6]).when({ type: 'AddPeer', id: S, peerId: 'peer-2', peerIp: '2001:db8:0:0::1' }).thenThrows('BGP.DuplicateBgpPeerIpException');
  });

  it('takes peers of its own address family only (both for a speaker without one)', () => {
    spec
      .given([created])
      .when({ type: 'AddPeer', id: S, peerId: 'peer-6', peerIp: '2001:db8::1' })
      .thenThrows('BGP.InvalidBgpPeer', /peer-6 \(2001:db8::1\) is IPv6; BGP speaker .* serves IPv4 only/);
    const both = createdOf(null);
    spec
      .given([both])
      .when({ type: 'AddPeer', id: S, peerId: 'peer-6', peerIp: '2001:db8::1' })
      .then([{ type: 'BgpSpeakerPeerAdded', data: { peerId: 'peer-6', peerIp: '2001:db8::1' } }]);
    spec.given([]).when({ type: 'AddPeer', id: S, peerId: 'peer-1', peerIp: '10.0.0.1' }).thenThrows('BGP.BgpSpeakerNotFound');
  });

  it('reads version 1 additions, which carried no address, as peers of unknown address', () => {
    const data = new EventRegistry([BgpSpeakerPeerAdded]).readLatest('BgpSpeakerPeerAdded', 1, { peerId: 'old' });
    expect(data).toEqual({ peerId: 'old', peerIp: null });
    const upcast = { type: 'BgpSpeakerPeerAdded', data } as BgpSpeakerEvent;
    expect(spec.given([created, upcast]).state().peers).toEqual([{ peerId: 'old', peerIp: null }]);
    spec.given([created, upcast]).when({ type: 'AddPeer', id: S, peerId: 'peer-1', peerIp: '10.0.0.1' }).then([peerAdded]);
  });

  it('removes only associated peers, binds a network once, and forgets everything on delete', () => {
    spec.given([created]).when({ type: 'RemovePeer', id: S, peerId: 'peer-1' }).thenThrows('BGP.BgpSpeakerPeerNotAssociated');
    spec.given([created]).when({ type: 'RemovePeer', id: S, peerId: 'peer-1', ifPresent: true }).then([]);
    const bound: BgpSpeakerEvent = { type: 'BgpSpeakerNetworkAdded', data: { networkId: 'n1' } };
    spec.given([created, bound]).when({ type: 'AddNetwork', id: S, networkId: 'n1' }).thenThrows('BGP.BgpSpeakerNetworkBindingError');
    spec.given([created]).when({ type: 'RemoveNetwork', id: S, networkId: 'n1' }).thenThrows('BGP.NetworkNotBound');
    spec
      .given([created, bound, { type: 'BgpSpeakerDeleted', data: {} }])
      .when({ type: 'AddNetwork', id: S, networkId: 'n1' })
      .thenThrows('BGP.BgpSpeakerNotFound');
    expect(spec.given([created, bound, peerAdded, { type: 'BgpSpeakerNetworkRemoved', data: { networkId: 'n1' } }]).state()).toMatchObject({
      networkIds: [],
      peers: [{ peerId: 'peer-1', peerIp: '10.0.0.1' }],
    });
  });

  it('records only real changes and placements', () => {
    spec
      .given([created])
      .when({ type: 'UpdateSpeaker', id: S, changes: { name: 's', advertiseTenantNetworks: true } })
      .then([]);
    spec
      .given([created])
      .when({ type: 'UpdateSpeaker', id: S, changes: { advertiseTenantNetworks: false } })
      .then([{ type: 'BgpSpeakerUpdated', data: { changes: { advertiseTenantNetworks: false } } }]);
    const hosts = [{ host: 'h1', row: 'a', pinned: false }];
    const scheduled: BgpSpeakerEvent = { type: 'BgpSpeakerScheduled', data: { hosts, reason: 'placed' } };
    spec.given([created]).when({ type: 'Schedule', id: S, hosts, reason: 'placed' }).then([scheduled]);
    spec
      .given([created, scheduled])
      .when({ type: 'Schedule', id: S, hosts: [{ host: 'h1', row: 'a', pinned: false }], reason: 'again' })
      .then([]);
    // a deleted speaker is not placed again (a placement pass racing the delete)
    spec.given([]).when({ type: 'Schedule', id: S, hosts: [], reason: 'none' }).then([]);
    spec.given([]).when({ type: 'Schedule', id: S, hosts, reason: 'placed' }).thenThrows('BGP.BgpSpeakerNotFound');
  });

  it('pins and unpins on the hosts it has now, and lets no automatic placement undo a pin', () => {
    const pinnedA: BgpSpeakerEvent = { type: 'BgpSpeakerScheduled', data: { hosts: [{ host: 'a1', row: 'a', pinned: true }], reason: 'added to agent x' } };
    // a second pin (maybe concurrent with the first) adds to it, never replaces it
    spec
      .given([created, pinnedA])
      .when({ type: 'Pin', id: S, host: 'b1', row: 'b', agentId: 'y' })
      .then([
        {
          type: 'BgpSpeakerScheduled',
          data: {
            hosts: [
              { host: 'a1', row: 'a', pinned: true },
              { host: 'b1', row: 'b', pinned: true },
            ],
            reason: 'added to agent y',
          },
        },
      ]);
    spec.given([created, pinnedA]).when({ type: 'Pin', id: S, host: 'a1', row: 'a', agentId: 'x' }).thenThrows('BGP.DrAgentAssociationError');
    spec
      .given([created, pinnedA])
      .when({ type: 'Schedule', id: S, hosts: [{ host: 'c1', row: 'c', pinned: false }], reason: 'placed' })
      .then([]);
    spec
      .given([created, pinnedA])
      .when({ type: 'Unpin', id: S, host: 'a1', agentId: 'x' })
      .then([{ type: 'BgpSpeakerScheduled', data: { hosts: [], reason: 'removed from agent x' } }]);
    spec.given([created, pinnedA]).when({ type: 'Unpin', id: S, host: 'b1', agentId: 'y' }).thenThrows('BGP.DrAgentNotHostingBgpSpeaker');
  });
});

describe('learned routes', () => {
  const spec = deciderSpec(speakerDecider);
  const created: BgpSpeakerEvent = {
    type: 'BgpSpeakerCreated',
    data: { projectId: 'p', name: 's', localAs: 64711, ipVersion: 4, advertiseFloatingIpHostRoutes: true, advertiseTenantNetworks: true },
  };
  const peerAdded: BgpSpeakerEvent = { type: 'BgpSpeakerPeerAdded', data: { peerId: 'peer-1', peerIp: '10.255.0.1' } };
  const hosts = [
    { host: 'a1', row: 'a', pinned: false },
    { host: 'b1', row: 'b', pinned: false },
  ];
  const placed: BgpSpeakerEvent = { type: 'BgpSpeakerScheduled', data: { hosts, reason: 'placed' } };
  const policy: { peerIp: string } & PeerImportPolicy = {
    peerIp: '10.255.0.1',
    acceptDefaultRoute: true,
    acceptedPrefixes: ['10.0.0.0/8'],
    maxPrefixes: null,
    bfd: false,
  };
  const route = (destination: string, nextHop = '192.168.81.1') => ({ destination, nextHop, asPath: [14907], med: null, localPref: 100, best: true });
  const learn = (routes: ReturnType<typeof route>[], host = 'a1', peer = policy) =>
    ({ type: 'LearnRoutes', id: S, peerId: 'peer-1', host, routes, peer }) as const;
  const learned = (routes: ReturnType<typeof route>[], host = 'a1'): BgpSpeakerEvent => ({
    type: 'BgpSpeakerRoutesLearned',
    data: { peerId: 'peer-1', host, routes },
  });

  it('records what a session learned of what its peer accepts, only when it changes', () => {
    spec
      .given([created, peerAdded, placed])
      .when(learn([route('10.99.0.0/16'), route('0.0.0.0/0'), route('172.16.0.0/12'), route('10.0.0.0/8', '192.168.81.2')]))
      .then([learned([route('0.0.0.0/0'), route('10.0.0.0/8', '192.168.81.2'), route('10.99.0.0/16')])]);
    const known = learned([route('0.0.0.0/0')]);
    spec
      .given([created, peerAdded, placed, known])
      .when(learn([route('0.0.0.0/0')]))
      .then([]);
    // the session went down: nothing learned any more
    spec
      .given([created, peerAdded, placed, known])
      .when(learn([]))
      .then([learned([])]);
    spec.given([created, peerAdded, placed]).when(learn([])).then([]);
    // a peer whose policy no longer accepts the default route
    spec
      .given([created, peerAdded, placed, known])
      .when(learn([route('0.0.0.0/0')], 'a1', { ...policy, acceptDefaultRoute: false }))
      .then([learned([])]);
  });

  it('ignores reports of hosts the speaker is not on, peers it has not, or a deleted speaker', () => {
    spec
      .given([created, peerAdded, placed])
      .when(learn([route('0.0.0.0/0')], 'c1'))
      .then([]);
    spec
      .given([created, placed])
      .when(learn([route('0.0.0.0/0')]))
      .then([]);
    spec
      .given([])
      .when(learn([route('0.0.0.0/0')]))
      .then([]);
  });

  it("forgets a session's routes with its peer or its host", () => {
    const both = [created, peerAdded, placed, learned([route('0.0.0.0/0')]), learned([route('0.0.0.0/0', '192.168.81.2')], 'b1')];
    expect(Object.keys(spec.given(both).state().learned)).toEqual(['peer-1 a1', 'peer-1 b1']);
    const moved: BgpSpeakerEvent = { type: 'BgpSpeakerScheduled', data: { hosts: hosts.slice(1), reason: 'a1 died' } };
    expect(Object.keys(spec.given([...both, moved]).state().learned)).toEqual(['peer-1 b1']);
    expect(spec.given([...both, { type: 'BgpSpeakerPeerRemoved', data: { peerId: 'peer-1' } }]).state().learned).toEqual({});
  });

  it("keeps routes of the peer's family, in normal form, inside accepted prefixes, once each, bounded", () => {
    const peer = { peerIp: '10.255.0.1', acceptDefaultRoute: false, acceptedPrefixes: ['10.0.0.0/8', '192.0.2.0/24'] };
    expect(
      acceptedRoutes(peer, [
        route('0.0.0.0/0'),
        route('10.0.0.0/8'),
        route('10.0.0.0/7'),
        route('192.0.2.128/25'),
        // an address with leading zeros (octal to some parsers) is no next hop
        route('192.0.2.0/25', '192.168.081.1'),
        route('2001:db8::/32', '2001:db8::1'),
        route('10.1.0.0/16', '2001:db8::1'),
        route('10.1.0.1/16'),
        route('10.1.0.0/16'),
        route('10.1.0.0/16'),
      ]).map((r) => `${r.destination} ${r.nextHop}`),
    ).toEqual(['10.0.0.0/8 192.168.81.1', '10.1.0.0/16 192.168.81.1', '192.0.2.128/25 192.168.81.1']);
    const many = Array.from({ length: MAX_LEARNED_ROUTES + 10 }, (_, i) => route(`10.${Math.floor(i / 256)}.${i % 256}.0/24`));
    expect(acceptedRoutes(peer, many)).toHaveLength(MAX_LEARNED_ROUTES);
  });
});

describe('peer decider', () => {
  const spec = deciderSpec(peerDecider);
  const peerData = {
    projectId: 'p',
    name: 'core',
    peerIp: '10.0.0.1',
    remoteAs: 14907,
    authType: 'md5' as const,
    password: 'secret' as string | null,
    acceptDefaultRoute: false,
    acceptedPrefixes: [] as string[],
    maxPrefixes: null as number | null,
    bfd: false,
  };
  const created: BgpPeerEvent = { type: 'BgpPeerCreated', data: peerData };

  it('reads version 1 creations, made before import policies, as peers that learn nothing, without BFD', () => {
    const { acceptDefaultRoute: _a, acceptedPrefixes: _p, maxPrefixes: _m, bfd: _b, ...v1 } = peerData;
    const data = new EventRegistry([BgpPeerCreated]).readLatest('BgpPeerCreated', 1, v1);
    expect(data).toEqual({ ...v1, acceptDefaultRoute: false, acceptedPrefixes: [], maxPrefixes: null, bfd: false });
    const state = spec.given([{ type: 'BgpPeerCreated', data } as BgpPeerEvent]).state();
    expect(state).toMatchObject({ acceptDefaultRoute: false, acceptedPrefixes: [], maxPrefixes: null, bfd: false });
  });

  it("takes accepted prefixes of the peer's family only, on create and on update", () => {
    spec
      .given([])
      .when({ type: 'CreatePeer', id: 'x', ...peerData, acceptedPrefixes: ['10.0.0.0/8', '2001:db8::/32'] })
      .thenThrows('BGP.InvalidBgpPeerImportPolicy', /2001:db8::\/32 is not IPv4, the family of its peer_ip 10.0.0.1/);
    spec
      .given([created])
      .when({ type: 'UpdatePeer', id: 'x', changes: { acceptedPrefixes: ['2001:db8::/32'] } })
      .thenThrows('BGP.InvalidBgpPeerImportPolicy');
    const v6: BgpPeerEvent = { type: 'BgpPeerCreated', data: { ...peerData, peerIp: '2001:db8:ffff::1', acceptedPrefixes: ['2001:db8::/32'] } };
    spec
      .given([])
      .when({ type: 'CreatePeer', id: 'x', ...v6.data })
      .then([v6]);
  });

  it('records only the policy attributes that change (lists compared by value)', () => {
    const policy: BgpPeerEvent = { type: 'BgpPeerCreated', data: { ...peerData, acceptedPrefixes: ['10.0.0.0/8'], maxPrefixes: 10 } };
    spec
      .given([policy])
      .when({ type: 'UpdatePeer', id: 'x', changes: { acceptedPrefixes: ['10.0.0.0/8'], maxPrefixes: 10, bfd: false } })
      .then([]);
    spec
      .given([policy])
      .when({ type: 'UpdatePeer', id: 'x', changes: { acceptDefaultRoute: true, acceptedPrefixes: [], maxPrefixes: null, bfd: true } })
      .then([{ type: 'BgpPeerUpdated', data: { changes: { acceptDefaultRoute: true, acceptedPrefixes: [], maxPrefixes: null, bfd: true } } }]);
    expect(spec.given([policy, { type: 'BgpPeerUpdated', data: { changes: { acceptDefaultRoute: true, maxPrefixes: null } } }]).state()).toMatchObject({
      acceptDefaultRoute: true,
      acceptedPrefixes: ['10.0.0.0/8'],
      maxPrefixes: null,
      bfd: false,
    });
  });

  it('changes the name and password only when they differ, and knows no deleted peer', () => {
    spec
      .given([created])
      .when({ type: 'UpdatePeer', id: 'x', changes: { password: 'secret' } })
      .then([]);
    spec
      .given([created])
      .when({ type: 'UpdatePeer', id: 'x', changes: { password: 'new one' } })
      .then([{ type: 'BgpPeerUpdated', data: { changes: { password: 'new one' } } }]);
    spec
      .given([created, { type: 'BgpPeerDeleted', data: {} }])
      .when({ type: 'UpdatePeer', id: 'x', changes: { name: 'n' } })
      .thenThrows('BGP.BgpPeerNotFound');
  });

  it('keeps the password the auth_type it was created with asks for', () => {
    spec
      .given([created])
      .when({ type: 'UpdatePeer', id: 'x', changes: { password: null } })
      .thenThrows('BGP.InvalidBgpPeerMd5Authentication', /auth_type md5: its password cannot be removed/);
    const open: BgpPeerEvent = { type: 'BgpPeerCreated', data: { ...peerData, authType: 'none', password: null } };
    spec
      .given([open])
      .when({ type: 'UpdatePeer', id: 'x', changes: { password: 'pw' } })
      .thenThrows('BGP.InvalidBgpPeerMd5Authentication', /auth_type none: it takes no password/);
    spec
      .given([open])
      .when({ type: 'UpdatePeer', id: 'x', changes: { password: null, name: 'renamed' } })
      .then([{ type: 'BgpPeerUpdated', data: { changes: { name: 'renamed' } } }]);
  });

  it('is created once and deleted while it exists', () => {
    spec
      .given([])
      .when({ type: 'CreatePeer', id: 'x', ...peerData })
      .then([created]);
    spec
      .given([created])
      .when({ type: 'CreatePeer', id: 'x', ...peerData })
      .thenThrows('BGP.BgpPeerExists');
    spec
      .given([created])
      .when({ type: 'DeletePeer', id: 'x' })
      .then([{ type: 'BgpPeerDeleted', data: {} }]);
    spec.given([]).when({ type: 'DeletePeer', id: 'x' }).thenThrows('BGP.BgpPeerNotFound');
  });
});

describe('speaker placement', () => {
  const agent = (host: string, row: string, over: Partial<BgpAgentCandidate> = {}): BgpAgentCandidate => ({ host, row, roles: ['bgp'], alive: true, ...over });
  const agents = [agent('a1', 'row-a'), agent('a2', 'row-a'), agent('b1', 'row-b'), agent('c1', 'row-c', { roles: ['network'] })];

  it('picks two live bgp agents in different rows, the least loaded first', () => {
    expect(chooseSpeakerHosts([], agents, new Map()).map((h) => h.host)).toEqual(['a1', 'b1']);
    expect(chooseSpeakerHosts([], agents, new Map([['a1', 3]])).map((h) => h.host)).toEqual(['a2', 'b1']);
    // one row only: two hosts in it all the same
    expect(chooseSpeakerHosts([], [agent('a1', 'row-a'), agent('a2', 'row-a')], new Map()).map((h) => h.host)).toEqual(['a1', 'a2']);
  });

  it('keeps live hosts, replaces dead ones, and never adds an agent without the bgp role', () => {
    const current = [
      { host: 'a2', row: 'row-a', pinned: false },
      { host: 'b1', row: 'row-b', pinned: false },
    ];
    expect(chooseSpeakerHosts(current, agents, new Map([['a2', 9]]))).toEqual(current);
    const bDead = agents.map((a) => (a.host === 'b1' ? { ...a, alive: false } : a));
    expect(chooseSpeakerHosts(current, bDead, new Map()).map((h) => h.host)).toEqual(['a1', 'a2']);
    expect(chooseSpeakerHosts(current, [agent('c1', 'row-c', { roles: ['network'] })], new Map())).toEqual([]);
  });

  it('spreads a speaker placed in one row to another row once an agent appears there', () => {
    const inRowA = [
      { host: 'a1', row: 'row-a', pinned: false },
      { host: 'a2', row: 'row-a', pinned: false },
    ];
    expect(chooseSpeakerHosts(inRowA, [agent('a1', 'row-a'), agent('a2', 'row-a')], new Map())).toEqual(inRowA);
    expect(chooseSpeakerHosts(inRowA, agents, new Map()).map((h) => h.host)).toEqual(['a1', 'b1']);
  });

  it('never puts two speakers of one address family on a host (each BIRD listens on port 179)', () => {
    expect([familiesClash(4, 4), familiesClash(4, 6), familiesClash(null, 6), familiesClash(6, 6)]).toEqual([true, false, true, true]);
    const busyA1 = agents.map((a) => (a.host === 'a1' || a.host === 'b1' ? { ...a, busy: true } : a));
    expect(chooseSpeakerHosts([], busyA1, new Map()).map((h) => h.host)).toEqual(['a2']);
    expect(chooseSpeakerHosts([{ host: 'a1', row: 'row-a', pinned: false }], busyA1, new Map()).map((h) => h.host)).toEqual(['a2']);
  });

  it('leaves pinned hosts alone, even dead, and adds nothing to them', () => {
    const pinned = [{ host: 'b1', row: 'row-b', pinned: true }];
    const bDead = agents.map((a) => (a.host === 'b1' ? { ...a, alive: false } : a));
    expect(chooseSpeakerHosts([...pinned, { host: 'a1', row: 'row-a', pinned: false }], bDead, new Map())).toEqual(pinned);
  });
});

describe('speaker intent', () => {
  const learnNothing = { acceptDefaultRoute: false, acceptedPrefixes: [], maxPrefixes: null, bfd: false };
  const peers: PeerFacts[] = [
    { id: 'bee00006-0000-4000-8000-000000000006', peerIp: '2001:db8:ffff::1', remoteAs: 65000, authType: 'none', password: null, ...learnNothing },
    {
      id: 'bee00004-0000-4000-8000-000000000004',
      peerIp: '10.255.0.1',
      remoteAs: 14907,
      authType: 'md5',
      password: 's3cret',
      acceptDefaultRoute: true,
      acceptedPrefixes: ['10.0.0.0/8'],
      maxPrefixes: 50,
      bfd: true,
    },
  ];
  const routes = [{ destination: '192.168.81.64/26', nextHop: '192.168.81.2' }];

  it("keeps the peers of the speaker's family (all for a dual-stack speaker) with their MD5 password, import policy and BFD", () => {
    const v4 = speakerIntent({ id: S, localAs: 64711, ipVersion: 4 }, { host: 'net-a1', tunnelIp: '10.1.0.2' }, peers, routes);
    expect(v4).toEqual({
      speakerId: S,
      localAs: 64711,
      routerId: '10.1.0.2',
      namespace: null,
      peers: [
        {
          id: 'bee00004-0000-4000-8000-000000000004',
          address: '10.255.0.1',
          remoteAs: 14907,
          password: 's3cret',
          importPolicy: { acceptDefaultRoute: true, acceptedPrefixes: ['10.0.0.0/8'], maxPrefixes: 50 },
          bfd: true,
        },
      ],
      routes,
    });
    const both = speakerIntent({ id: S, localAs: 64711, ipVersion: null }, { host: 'net-a1', tunnelIp: '10.1.0.2' }, peers, routes);
    expect(both.peers.map((p) => p.address)).toEqual(['10.255.0.1', '2001:db8:ffff::1']);
  });

  it('gives each host its own router id, from its IPv4 tunnel address or a hash of its name', () => {
    expect(bgpRouterId('h1', '10.1.0.2')).toBe('10.1.0.2');
    const a = bgpRouterId('h1', 'fd00::1');
    const b = bgpRouterId('h2', 'fd00::1');
    expect(a).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(a).not.toBe(b);
    expect(bgpRouterId('h1', 'fd00::1')).toBe(a);
  });
});
