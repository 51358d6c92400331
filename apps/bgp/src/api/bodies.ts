import { z } from 'zod';
import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import {
  boundedList,
  defined,
  neutronBoolean,
  neutronId,
  neutronInteger,
  neutronNullableInteger,
  neutronString,
  ownerAttributes,
  parseBody,
  parseUpdateBody,
  parseWith,
  projectOf,
} from '@ncp/nest-common';
import { isValidIp, normalizeCidr, normalizeIp, parseIp } from '@ncp/netaddr';
import { type CreatePeerInput, type CreateSpeakerInput } from '../application/commands';
import { type PeerChanges } from '../domain/peer.decider';

const text = neutronString();
const owner = ownerAttributes();
/** Neutron's bgp_4byte_asn range (the columns are BigInt); strings of digits are accepted ("64512"), as Neutron's convert_to_int does. */
export const ASN_RANGE = { min: 1, max: 4294967295 };
const asn = (name: string) => neutronInteger(name, ASN_RANGE);
/** What BIRD (and the kernel's TCP MD5 option) can carry: 1-80 printable ASCII characters, without `"` and `\`. */
const password = z
  .string()
  .min(1, 'password must not be empty')
  .max(80, 'password must be at most 80 characters')
  .regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/, 'password must be printable ASCII without " or \\');
/** Why an address cannot be a BGP neighbour, or null when it can. */
function peerIpProblem(s: string): string | null {
  if (!isValidIp(s)) return 'peer_ip must be an IP address';
  const canonical = normalizeIp(s);
  const usable =
    parseIp(s).version === 6
      ? !/^fe[89ab]/i.test(canonical) && canonical !== '::' && canonical !== '::1' && !canonical.startsWith('ff')
      : canonical !== '0.0.0.0' && Number(canonical.split('.')[0]) < 224 && !canonical.startsWith('127.') && !canonical.startsWith('169.254.');
  return usable ? null : 'peer_ip must be a unicast address that is not link-local, loopback or unspecified';
}
const peerIp = neutronString(64).superRefine((s, ctx) => {
  const problem = peerIpProblem(s);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/** Bounds of the import policy (an extension: Neutron's peers learn nothing). */
export const MAX_ACCEPTED_PREFIXES = 100;
export const MAX_PREFIXES_RANGE = { min: 1, max: 1_000_000 };
/** A CIDR without host bits; given in its normal form to the domain. */
const acceptedPrefix = neutronString(64).transform((s, ctx) => {
  try {
    return normalizeCidr(s, { strict: true });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `accepted_prefixes: ${error instanceof Error ? error.message : String(error)}` });
    return z.NEVER;
  }
});
/** Each prefix once, in the order given (a repeated prefix accepts nothing more). */
const acceptedPrefixes = boundedList(acceptedPrefix, MAX_ACCEPTED_PREFIXES, 'accepted prefixes').transform((list) => [...new Set(list)]);

const speakerBody = z.strictObject({
  ...owner,
  name: text.optional(),
  local_as: asn('local_as').optional(),
  ip_version: z
    .unknown()
    .transform((v) => (v === null || v === undefined ? null : v))
    .refine((v) => v === null || v === 4 || v === 6 || v === '4' || v === '6', { message: 'ip_version must be 4, 6 or null (both)' })
    .transform((v) => (v === null ? null : (Number(v) as 4 | 6)))
    .optional(),
  advertise_floating_ip_host_routes: neutronBoolean('advertise_floating_ip_host_routes').optional(),
  advertise_tenant_networks: neutronBoolean('advertise_tenant_networks').optional(),
  networks: z.array(text).max(0, 'networks are added with add_gateway_network').optional(),
  peers: z.array(text).max(0, 'peers are added with add_bgp_peer').optional(),
});

const peerBody = z.strictObject({
  ...owner,
  name: text.optional(),
  peer_ip: peerIp.optional(),
  remote_as: asn('remote_as').optional(),
  auth_type: z.enum(['none', 'md5'], { message: "auth_type must be 'none' or 'md5'" }).optional(),
  password: password.nullable().optional(),
  accept_default_route: neutronBoolean('accept_default_route').optional(),
  accepted_prefixes: acceptedPrefixes.optional(),
  max_prefixes: neutronNullableInteger('max_prefixes', MAX_PREFIXES_RANGE).optional(),
  bfd: neutronBoolean('bfd').optional(),
});

const required = (attribute: string) => new ValidationError('API.HTTPBadRequest', `Failed to parse request. Required attribute '${attribute}' not specified`);

export function createSpeakerInput(body: unknown, meta: CommandMetadata): CreateSpeakerInput {
  const b = parseBody(body, 'bgp_speaker', speakerBody);
  if (b.local_as === undefined) throw required('local_as');
  return {
    projectId: projectOf(b, meta),
    name: b.name ?? '',
    localAs: b.local_as,
    ipVersion: b.ip_version ?? null,
    advertiseFloatingIpHostRoutes: b.advertise_floating_ip_host_routes ?? true,
    advertiseTenantNetworks: b.advertise_tenant_networks ?? true,
  };
}

export function updateSpeakerInput(body: unknown) {
  const b = parseUpdateBody(body, 'bgp_speaker', speakerBody, ['name', 'advertise_floating_ip_host_routes', 'advertise_tenant_networks']);
  return defined({
    name: b.name,
    advertiseFloatingIpHostRoutes: b.advertise_floating_ip_host_routes,
    advertiseTenantNetworks: b.advertise_tenant_networks,
  });
}

export function createPeerInput(body: unknown, meta: CommandMetadata): CreatePeerInput {
  const b = parseBody(body, 'bgp_peer', peerBody);
  if (b.peer_ip === undefined) throw required('peer_ip');
  if (b.remote_as === undefined) throw required('remote_as');
  const authType = b.auth_type ?? 'none';
  const pw = b.password ?? null;
  if (authType === 'md5' && pw === null) throw new ValidationError('BGP.InvalidBgpPeerMd5Authentication', 'A password is required for auth_type md5.');
  if (authType === 'none' && pw !== null)
    throw new ValidationError('BGP.InvalidBgpPeerMd5Authentication', "A password is only taken with auth_type md5, not with 'none'.");
  return {
    projectId: projectOf(b, meta),
    name: b.name ?? '',
    peerIp: normalizeIp(b.peer_ip),
    remoteAs: b.remote_as,
    authType,
    password: pw,
    acceptDefaultRoute: b.accept_default_route ?? false,
    acceptedPrefixes: b.accepted_prefixes ?? [],
    maxPrefixes: b.max_prefixes ?? null,
    bfd: b.bfd ?? false,
  };
}

export function updatePeerInput(body: unknown): PeerChanges {
  const b = parseUpdateBody(body, 'bgp_peer', peerBody, ['name', 'password', 'accept_default_route', 'accepted_prefixes', 'max_prefixes', 'bfd']);
  return defined({
    name: b.name,
    password: b.password,
    acceptDefaultRoute: b.accept_default_route,
    acceptedPrefixes: b.accepted_prefixes,
    maxPrefixes: b.max_prefixes,
    bfd: b.bfd,
  });
}

/** `{"bgp_peer_id": ...}`, `{"network_id": ...}`, `{"bgp_speaker_id": ...}`: the bodies of the actions. */
export function idInput(body: unknown, key: 'bgp_peer_id' | 'network_id' | 'bgp_speaker_id'): string {
  if (typeof body !== 'object' || body === null || !(key in body)) {
    throw new ValidationError('API.HTTPBadRequest', `Bad request: the body must be {"${key}": "<id>"}`);
  }
  return (parseWith(body, z.strictObject({ [key]: neutronId() })) as Record<string, string>)[key] ?? '';
}

export const REQUEST_SCHEMAS = { bgp_speaker: speakerBody, bgp_peer: peerBody } as const;
