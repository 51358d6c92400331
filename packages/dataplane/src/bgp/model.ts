/** BIRD's protocol name of a peer: `peer_` and the 32 hex digits of its id (the 12 first would collide for ids made in sequence). */
export function bgpPeerProtocol(peerId: string): string {
  return `peer_${peerId.toLowerCase().replace(/-/g, '')}`;
}

/** The static protocols holding the advertised routes of each family (and the export filters' names). */
export const BGP_STATIC_PROTOCOL = { 4: 'ncp_static4', 6: 'ncp_static6' } as const;
export const BGP_EXPORT_FILTER = { 4: 'ncp_export4', 6: 'ncp_export6' } as const;
