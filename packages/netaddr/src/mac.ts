import { formatCidr, type Cidr } from './cidr.js';
import { NetaddrError } from './errors.js';

/** The six octets of a MAC address (EUI-48), each 0-255. */
export type MacOctets = readonly [number, number, number, number, number, number];

// Only the IEEE 802 forms: six two-digit hex groups separated by ":" (Linux, Neutron) or "-"
// (IEEE, Windows), one separator throughout. Cisco "fa16.3e11.1111" and bare "fa163e111111" are
// refused: they are rare in APIs and more easily typos.
const MAC_TEXT = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/** @throws NetaddrError code `invalid_mac` */
export function parseMac(text: string): MacOctets {
  if (typeof text !== 'string' || !MAC_TEXT.test(text)) {
    throw new NetaddrError(
      'invalid_mac',
      `'${String(text)}' is not a valid MAC address: expected six hex pairs separated by ':' or '-' (e.g. fa:16:3e:11:11:11)`,
    );
  }
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0] = text.split(/[:-]/).map((pair) => parseInt(pair, 16));
  return [a, b, c, d, e, f];
}

export function isValidMac(text: string): boolean {
  return typeof text === 'string' && MAC_TEXT.test(text);
}

/** Lowercase, colon-separated: the form Neutron stores and returns. */
export function formatMac(octets: MacOctets): string {
  if (octets.length !== 6 || !octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255)) {
    throw new NetaddrError('invalid_mac', `a MAC address is six octets 0-255, got [${octets.join(', ')}]`);
  }
  return octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
}

export function normalizeMac(text: string): string {
  return formatMac(parseMac(text));
}

/**
 * True when the I/G bit (least significant bit of the first octet) is 0. Multicast and
 * ff:ff:ff:ff:ff:ff are not unicast; 00:00:00:00:00:00 is, so reject it separately if needed
 * (Neutron refuses it as a port MAC).
 * @throws NetaddrError code `invalid_mac`
 */
export function isUnicastMac(text: string): boolean {
  return (parseMac(text)[0] & 1) === 0;
}

/**
 * The 64-bit modified EUI-64 interface identifier of a MAC (RFC 4291 appendix A): ff:fe inserted
 * in the middle and the universal/local bit (0x02 of the first octet) inverted.
 * @throws NetaddrError code `invalid_mac`
 */
export function eui64InterfaceId(mac: string): bigint {
  const [a, b, c, d, e, f] = parseMac(mac);
  let id = 0n;
  for (const octet of [a ^ 0x02, b, c, 0xff, 0xfe, d, e, f]) id = (id << 8n) | BigInt(octet);
  return id;
}

/**
 * The SLAAC address of a MAC in an IPv6 /64 (what Neutron computes for SLAAC/DHCPv6-stateless
 * subnets). Only /64 is accepted: SLAAC interface identifiers are 64 bits, and Neutron refuses
 * other prefix lengths for those address modes.
 * Example: fa:16:3e:11:11:11 in 2001:db8:0:1::/64 -> 2001:db8:0:1:f816:3eff:fe11:1111.
 * @throws NetaddrError `invalid_argument` for a non-IPv6 or non-/64 prefix, `invalid_mac`
 */
export function eui64Address(prefix: Cidr, mac: string): bigint {
  if (prefix.version !== 6 || prefix.prefixLength !== 64) {
    throw new NetaddrError('invalid_argument', `EUI-64 addresses need an IPv6 /64 prefix, got ${formatCidr(prefix)}`);
  }
  return prefix.network | eui64InterfaceId(mac);
}
