import { BGP_LEARN_NOTHING, type BgpSpeakerIntent } from '@ncp/contracts';

export const SPEAKER = '5bea0001-0000-4000-8000-000000000001';
export const SPEAKER2 = '5bea0002-0000-4000-8000-000000000002';
export const PEER4 = 'bee00001-0000-4000-8000-000000000001';
export const PEER6 = 'bee00002-0000-4000-8000-000000000002';
export const NS = 'bgp-speaker';
export const STATE = '/var/lib/ncp-agent';

/** Dual stack: an IPv4 peer with MD5, an IPv6 peer without; routes out of order, two next hops per family. */
export const speaker1: BgpSpeakerIntent = {
  speakerId: SPEAKER,
  localAs: 64711,
  routerId: '10.81.0.2',
  namespace: NS,
  peers: [
    { id: PEER6, address: '2001:0db8:bad:face::1', remoteAs: 14907, password: null, importPolicy: BGP_LEARN_NOTHING, bfd: false },
    { id: PEER4, address: '10.81.0.1', remoteAs: 14907, password: 's3cret-#1 with spaces', importPolicy: BGP_LEARN_NOTHING, bfd: false },
  ],
  routes: [
    { destination: '203.0.113.7/32', nextHop: '10.81.0.5' },
    { destination: '192.168.81.64/26', nextHop: '10.81.0.5' },
    { destination: '2001:db8:81::/64', nextHop: '2001:db8:bad:face::5' },
    { destination: '198.51.100.0/24', nextHop: '10.81.0.6' },
    { destination: '2001:db8:82::/64', nextHop: '2001:db8:bad:face::6' },
    // the same route twice is one route
    { destination: '192.168.81.64/26', nextHop: '10.81.0.5' },
  ],
};

/** Nothing to advertise yet, one 4-byte-ASN peer, in the agent's host namespace. */
export const empty: BgpSpeakerIntent = {
  speakerId: SPEAKER2,
  localAs: 4200000001,
  routerId: '192.0.2.1',
  namespace: null,
  peers: [{ id: PEER4, address: '192.0.2.254', remoteAs: 4200000002, password: null, importPolicy: BGP_LEARN_NOTHING, bfd: false }],
  routes: [],
};

/**
 * Learning: the IPv4 peer gives the default route and routes inside two prefixes (given out of
 * order, one twice), at most 20, with BFD; the IPv6 peer only its default route, without BFD.
 */
export const learning: BgpSpeakerIntent = {
  ...speaker1,
  peers: [
    {
      id: PEER4,
      address: '10.81.0.1',
      remoteAs: 14907,
      password: null,
      importPolicy: { acceptDefaultRoute: true, acceptedPrefixes: ['172.16.0.0/12', '10.0.0.0/8', '172.16.0.0/12'], maxPrefixes: 20 },
      bfd: true,
    },
    {
      id: PEER6,
      address: '2001:db8:bad:face::1',
      remoteAs: 14907,
      password: null,
      importPolicy: { acceptDefaultRoute: true, acceptedPrefixes: [], maxPrefixes: null },
      bfd: false,
    },
  ],
};

/** Only prefixes, no default route, from an IPv4 peer with BFD: the BFD protocol serves IPv4 alone. */
export const prefixesOnly: BgpSpeakerIntent = {
  ...empty,
  peers: [
    {
      id: PEER4,
      address: '192.0.2.254',
      remoteAs: 4200000002,
      password: null,
      importPolicy: { acceptDefaultRoute: false, acceptedPrefixes: ['198.18.0.0/15'], maxPrefixes: null },
      bfd: true,
    },
  ],
};
