import { isValidId, isValidLinkName, isValidNetnsName } from '@ncp/contracts';
import { isValidIp, isValidMac, normalizeIp, normalizeMac } from '@ncp/netaddr';
import { DataplaneError } from './errors.js';

/** @throws DataplaneError `DATAPLANE.INVALID_NAME` */
export function assertLinkName(name: string): string {
  if (!isValidLinkName(name)) {
    throw new DataplaneError('DATAPLANE.INVALID_NAME', `'${name}' is not a valid interface name (1-15 of A-Z a-z 0-9 _ . -, not starting with -)`);
  }
  return name;
}

/** @throws DataplaneError `DATAPLANE.INVALID_NAME` */
export function assertNetnsName(name: string): string {
  if (!isValidNetnsName(name)) {
    throw new DataplaneError('DATAPLANE.INVALID_NAME', `'${name}' is not a valid namespace name (1-64 of A-Z a-z 0-9 _ . -, not starting with -)`);
  }
  return name;
}

/** @throws DataplaneError `DATAPLANE.INVALID_NAME` */
export function assertId(id: string): string {
  if (!isValidId(id)) throw new DataplaneError('DATAPLANE.INVALID_NAME', `'${id}' is not a UUID`);
  return id.toLowerCase();
}

/** Lowercase colon form, the one `ip -j` and `bridge -j` print. @throws `DATAPLANE.INVALID_ADDRESS` */
export function assertMac(mac: string): string {
  if (!isValidMac(mac)) throw new DataplaneError('DATAPLANE.INVALID_ADDRESS', `'${mac}' is not a MAC address`);
  return normalizeMac(mac);
}

/** Canonical text (RFC 5952 for IPv6), so observed and desired addresses compare as strings. */
export function assertIp(ip: string): string {
  if (!isValidIp(ip)) throw new DataplaneError('DATAPLANE.INVALID_ADDRESS', `'${ip}' is not an IP address`);
  return normalizeIp(ip);
}

function compactId(id: string): string {
  return assertId(id).replace(/-/g, '');
}

/** `br-<first 8 hex of the network id>` */
export function bridgeName(networkId: string): string {
  return `br-${compactId(networkId).slice(0, 8)}`;
}

/** `vx-<8>` */
export function vxlanName(networkId: string): string {
  return `vx-${compactId(networkId).slice(0, 8)}`;
}

/** `vl-<8>`: the 802.1Q subinterface of a vlan network. */
export function vlanName(networkId: string): string {
  return `vl-${compactId(networkId).slice(0, 8)}`;
}

/** `tap<first 11 hex of the port id>`: the host end of a port's veth, as in Neutron. */
export function tapName(portId: string): string {
  return `tap${compactId(portId).slice(0, 11)}`;
}

/**
 * The alias (IFLA_IFALIAS) that marks a link as created by this driver. It survives agent
 * restarts, so ownership is read back from the kernel rather than remembered.
 */
export type OwnerTag = 'net' | 'vx' | 'vlan' | 'port';

export interface Owner {
  readonly tag: OwnerTag;
  readonly id: string;
}

const OWNER_TAGS: readonly OwnerTag[] = ['net', 'vx', 'vlan', 'port'];

export function ownerAlias(tag: OwnerTag, id: string): string {
  return `ncp:${tag}:${assertId(id)}`;
}

/** The owner encoded in an alias, or null when the link is not ours (other drivers' tags included). */
export function parseOwnerAlias(alias: string | null | undefined): Owner | null {
  if (!alias) return null;
  const match = /^ncp:([a-z]+):(.+)$/.exec(alias);
  if (!match) return null;
  const [, tag = '', id = ''] = match;
  const known = OWNER_TAGS.find((t) => t === tag);
  if (!known || !isValidId(id)) return null;
  return { tag: known, id: id.toLowerCase() };
}
