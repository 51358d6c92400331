import { z } from 'zod';
import { MAX_LEARNED_ROUTES_REPORTED } from '../agent/events';
import { defineEvent, type EventsOf } from '../event-registry';

/**
 * BGP events (Neutron dynamic routing): speakers and peers. What a speaker advertises is
 * derived from IPAM's and L3's events, never stored here. Aggregates:
 * `ev.bgp.speaker.<speaker id>` and `ev.bgp.peer.<peer id>`.
 */
export const BGP_CONTEXT = 'bgp';
export const BGP_AGGREGATES = { speaker: 'speaker', peer: 'peer' } as const;

const id = z.string().min(1);
const text = z.string();
const asn = z.number().int().min(1).max(4294967295);

const speakerAttributes = {
  name: text,
  advertiseFloatingIpHostRoutes: z.boolean(),
  advertiseTenantNetworks: z.boolean(),
};

/** ipVersion null: the speaker serves both families (beyond Neutron). */
export const BgpSpeakerCreated = defineEvent(
  'BgpSpeakerCreated',
  z.object({ projectId: text, localAs: asn, ipVersion: z.union([z.literal(4), z.literal(6)]).nullable(), ...speakerAttributes }),
);
export const BgpSpeakerUpdated = defineEvent('BgpSpeakerUpdated', z.object({ changes: z.object(speakerAttributes).partial() }));
/**
 * The peer's address goes with it (a peer's address never changes): the speaker decides "one
 * peer per address" on its own state. Version 1 carried no address: null, "not recorded".
 */
export const BgpSpeakerPeerAdded = defineEvent('BgpSpeakerPeerAdded', z.object({ peerId: id, peerIp: text.nullable() }), [
  { version: 1, schema: z.object({ peerId: id }), upcast: (d) => ({ ...(d as object), peerIp: null }) },
]);
export const BgpSpeakerPeerRemoved = defineEvent('BgpSpeakerPeerRemoved', z.object({ peerId: id }));
export const BgpSpeakerNetworkAdded = defineEvent('BgpSpeakerNetworkAdded', z.object({ networkId: id }));
export const BgpSpeakerNetworkRemoved = defineEvent('BgpSpeakerNetworkRemoved', z.object({ networkId: id }));
export const bgpSpeakerHost = z.object({ host: text, row: text, pinned: z.boolean() });
/** The whole set of agents the speaker runs on, replaced (placement or the dragent API). */
export const BgpSpeakerScheduled = defineEvent('BgpSpeakerScheduled', z.object({ hosts: z.array(bgpSpeakerHost), reason: text }));
export const BgpSpeakerDeleted = defineEvent('BgpSpeakerDeleted', z.object({}));

const uint32 = z.number().int().min(0).max(4294967295);
/** A route learned from a peer: a CIDR without host bits and a next hop of its family, in normal form. */
export const bgpLearnedRoute = z.object({
  destination: text,
  nextHop: text,
  asPath: z.array(uint32).max(256),
  med: uint32.nullable(),
  localPref: uint32.nullable(),
  best: z.boolean(),
});
export type BgpLearnedRoute = z.infer<typeof bgpLearnedRoute>;
/**
 * What the session of one peer on one host of the speaker now holds, of what the peer's
 * import policy accepts (all of it: none when the session went down), recorded when it
 * changes. A peer's routes go with the peer (`BgpSpeakerPeerRemoved`) and a host's with the
 * host (`BgpSpeakerScheduled` without it); L3 installs them in the routers of the speaker's
 * networks.
 */
export const BgpSpeakerRoutesLearned = defineEvent(
  'BgpSpeakerRoutesLearned',
  z.object({ peerId: id, host: text, routes: z.array(bgpLearnedRoute).max(MAX_LEARNED_ROUTES_REPORTED) }),
);

export const bgpAuthType = z.enum(['none', 'md5']);
/**
 * What a peer lets the speakers learn from it (beyond neutron-dynamic-routing; off by default:
 * nothing): the default route, routes inside the accepted prefixes (each with its
 * more-specifics, never the default route itself), at most `maxPrefixes` of them (null: no
 * limit). `bfd`: BFD on the peer's sessions. The API has checked the prefixes (CIDRs without
 * host bits, of the peer's family, in their normal form).
 */
export const bgpPeerImportPolicy = {
  acceptDefaultRoute: z.boolean(),
  acceptedPrefixes: z.array(text).max(100),
  maxPrefixes: z.number().int().min(1).max(1_000_000).nullable(),
  bfd: z.boolean(),
};
/** A peer of version 1, made before peers had an import policy: it learns nothing, without BFD. */
export const BGP_PEER_IMPORT_NOTHING = { acceptDefaultRoute: false, acceptedPrefixes: [] as string[], maxPrefixes: null, bfd: false };
/** The password is kept for the agents' BIRD configuration; the API never shows it. */
const bgpPeerV1 = z.object({ projectId: text, name: text, peerIp: text, remoteAs: asn, authType: bgpAuthType, password: text.nullable() });
export const BgpPeerCreated = defineEvent('BgpPeerCreated', bgpPeerV1.extend(bgpPeerImportPolicy), [
  { version: 1, schema: bgpPeerV1, upcast: (d) => ({ ...(d as object), ...BGP_PEER_IMPORT_NOTHING }) },
]);
/** The policy attributes came later as optional changes: version 1 updates stay valid as they are. */
export const BgpPeerUpdated = defineEvent(
  'BgpPeerUpdated',
  z.object({ changes: z.object({ name: text, password: text.nullable(), ...bgpPeerImportPolicy }).partial() }),
);
export const BgpPeerDeleted = defineEvent('BgpPeerDeleted', z.object({}));

/** The events of each aggregate; the context's definitions are all of them. */
const speakerEvents = [
  BgpSpeakerCreated,
  BgpSpeakerUpdated,
  BgpSpeakerPeerAdded,
  BgpSpeakerPeerRemoved,
  BgpSpeakerNetworkAdded,
  BgpSpeakerNetworkRemoved,
  BgpSpeakerScheduled,
  BgpSpeakerDeleted,
  BgpSpeakerRoutesLearned,
] as const;
const peerEvents = [BgpPeerCreated, BgpPeerUpdated, BgpPeerDeleted] as const;
export const bgpEventDefinitions = [...speakerEvents, ...peerEvents] as const;

export type BgpEvent = EventsOf<typeof bgpEventDefinitions>;
export type BgpEventOf<T extends BgpEvent['type']> = Extract<BgpEvent, { type: T }>;
export type BgpSpeakerEvent = EventsOf<typeof speakerEvents>;
export type BgpPeerEvent = EventsOf<typeof peerEvents>;
