/**
 * IP protocols as Neutron names them in security group rules (neutron-lib's IP_PROTOCOL_MAP):
 * a rule may give a name from this table or a number 0-255.
 */
export const PROTOCOL_NUMBERS = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  igmp: 2,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-icmp': 58,
  // the legacy name of ipv6-icmp, still accepted
  icmpv6: 58,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  'ipv6-route': 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
} as const satisfies Record<string, number>;

export const ICMP = 1;
export const IPV6_ICMP = 58;

/** The protocols whose rules may carry a port range (Neutron's SG_PORT_PROTO_NUMS). */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([
  PROTOCOL_NUMBERS.tcp,
  PROTOCOL_NUMBERS.udp,
  PROTOCOL_NUMBERS.sctp,
  PROTOCOL_NUMBERS.dccp,
  PROTOCOL_NUMBERS.udplite,
]);

/** Protocols that only exist over IPv6: a rule for one of them with ethertype IPv4 is refused. */
export const IPV6_ONLY_PROTOCOLS: ReadonlySet<number> = new Set([41, 43, 44, 58, 59, 60]);

/** The protocol's number, from a name of the table or a number's text; undefined when it is neither. */
export function protocolNumber(protocol: string): number | undefined {
  if (/^(0|[1-9]\d{0,2})$/.test(protocol)) {
    const n = Number(protocol);
    return n <= 255 ? n : undefined;
  }
  return Object.hasOwn(PROTOCOL_NUMBERS, protocol) ? PROTOCOL_NUMBERS[protocol as keyof typeof PROTOCOL_NUMBERS] : undefined;
}
