import { isValidIp, parseCidr, parseIp } from '@ncp/netaddr';
import { z } from 'zod';
import { isValidId, isValidNetnsName } from './names';

/**
 * Desired state of one BGP speaker on the host it is scheduled to: one BIRD 2 daemon that
 * peers with the core routers and advertises exactly `routes` (tenant prefixes, floating IP
 * /32s and /128s, each with the next hop the core must use: the router's gateway address).
 * BIRD learns from a peer only what the peer's import policy accepts (nothing by default), and
 * installs nothing in a kernel: the agent reports what it learned, the services decide where
 * it is used.
 */

/** What BIRD may learn from one peer; the defaults learn nothing. */
export interface BgpImportPolicyIntent {
  acceptDefaultRoute: boolean;
  /** CIDRs of the peer's family, each accepting itself and its more-specifics (never the default route) */
  acceptedPrefixes: string[];
  /** routes learned on the session before BIRD restarts it; null: no limit */
  maxPrefixes: number | null;
}

export interface BgpPeerIntent {
  /** uuid of the peer; BIRD's protocol is `peer_<its 32 hex digits>` */
  id: string;
  /** IPv4 or IPv6 (not link-local): the session carries the routes of that family */
  address: string;
  /** 1..4294967295 */
  remoteAs: number;
  /** TCP MD5 signature (RFC 2385) key, or null for none */
  password: string | null;
  /** absent in intents of older services: learn nothing */
  importPolicy: BgpImportPolicyIntent;
  /** BFD on the session (absent in older intents: off) */
  bfd: boolean;
}

export interface BgpRouteIntent {
  /** CIDR, IPv4 or IPv6, without host bits */
  destination: string;
  /** the next hop the peers are told, of the destination's family */
  nextHop: string;
}

export interface BgpSpeakerIntent {
  /** uuid */
  speakerId: string;
  /** 1..4294967295 */
  localAs: number;
  /** IPv4 dotted quad (BIRD's router id) */
  routerId: string;
  /** run BIRD inside this netns, or null for the agent's host namespace (`hostNetns` of the options) */
  namespace: string | null;
  peers: BgpPeerIntent[];
  /** exactly what is advertised (both families) */
  routes: BgpRouteIntent[];
}

const Id = z.string().refine(isValidId, 'must be a UUID');
const Asn = z.number().int().min(1).max(4294967295);
const Ip = z.string().refine(isValidIp, 'must be an IP address');
const Ipv4 = z.string().refine((s) => isValidIp(s) && parseIp(s).version === 4, 'must be an IPv4 address');
const Cidr = z.string().refine((s) => {
  try {
    parseCidr(s, { strict: true });
    return true;
  } catch {
    return false;
  }
}, 'must be a CIDR without host bits');
/**
 * Printable ASCII without `"` and `\` (the end and the escape of a BIRD string), at most 80
 * characters (TCP_MD5SIG_MAXKEYLEN), not empty (use null for no password).
 */
const Password = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/, 'must be printable ASCII without " or \\');

export const BGP_LEARN_NOTHING: BgpImportPolicyIntent = { acceptDefaultRoute: false, acceptedPrefixes: [], maxPrefixes: null };

export const BgpImportPolicyIntentSchema: z.ZodType<BgpImportPolicyIntent> = z.object({
  acceptDefaultRoute: z.boolean(),
  acceptedPrefixes: z.array(Cidr).max(100),
  maxPrefixes: z.number().int().min(1).max(1_000_000).nullable(),
});

export const BgpPeerIntentSchema: z.ZodType<BgpPeerIntent> = z.object({
  id: Id,
  address: Ip.refine((s) => !/^fe[89ab]/i.test(s), 'must not be link-local'),
  remoteAs: Asn,
  password: Password.nullable(),
  importPolicy: BgpImportPolicyIntentSchema.default(() => ({ ...BGP_LEARN_NOTHING, acceptedPrefixes: [] })),
  bfd: z.boolean().default(false),
});

export const BgpRouteIntentSchema: z.ZodType<BgpRouteIntent> = z.object({ destination: Cidr, nextHop: Ip });

export const BgpSpeakerIntentSchema: z.ZodType<BgpSpeakerIntent> = z.object({
  speakerId: Id,
  localAs: Asn,
  routerId: Ipv4,
  namespace: z.string().refine(isValidNetnsName, 'must be a namespace name').nullable(),
  peers: z.array(BgpPeerIntentSchema),
  routes: z.array(BgpRouteIntentSchema),
});
