/** BIRD's protocol name of a peer: `peer_` and the 32 hex digits of its id (the 12 first would collide for ids made in sequence). */
export function bgpPeerProtocol(peerId: string): string {
  return `peer_${peerId.toLowerCase().replace(/-/g, '')}`;
}

/** The static protocols holding the advertised routes of each family (and the export filters' names). */
export const BGP_STATIC_PROTOCOL = { 4: 'ncp_static4', 6: 'ncp_static6' } as const;
export const BGP_EXPORT_FILTER = { 4: 'ncp_export4', 6: 'ncp_export6' } as const;
/** Empty tables the learned routes' next hops are resolved in: they stay unresolved, so nothing learned is ever used by the speaker's host. */
export const BGP_NEXT_HOP_TABLE = { 4: 'ncp_nexthops4', 6: 'ncp_nexthops6' } as const;
/** The speaker's BFD protocol, when a peer asks for BFD. */
export const BGP_BFD_PROTOCOL = 'ncp_bfd';
