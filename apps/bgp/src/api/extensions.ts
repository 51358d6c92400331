import { extension } from '@ncp/nest-common';

/** Exactly the Neutron extensions the BGP service implements, plus its own. */
export const BGP_EXTENSIONS = [
  extension(
    'bgp',
    'BGP Dynamic Routing',
    "BGP speakers and peers: add_bgp_peer/remove_bgp_peer, add_gateway_network/remove_gateway_network, get_advertised_routes. Tenant subnets in the gateway subnet's address scope and floating IP host routes are advertised with the router's gateway address as next hop.",
  ),
  extension('bgp_4byte_asn', '4-byte ASN support for BGP Dynamic Routing', 'local_as and remote_as in [1, 4294967295].'),
  extension(
    'bgp_dragent_scheduler',
    'BGP Dynamic Routing Agent Scheduler',
    'GET /v2.0/bgp-speakers/<id>/bgp-dragents, GET/POST /v2.0/agents/<id>/bgp-drinstances, DELETE /v2.0/agents/<id>/bgp-drinstances/<speaker id>. Speakers are placed automatically on two live bgp agents in different rows unless pinned.',
  ),
  extension('bgp-dual-stack-speaker', 'Dual-stack BGP speakers', 'ip_version may be omitted (null): the speaker serves IPv4 and IPv6 peers and routes.'),
  extension(
    'bgp-session-status',
    'BGP session status',
    'Each BGP peer shows its sessions as the agents running the speakers report them: status, uptime and prefixes sent, per speaker and host.',
  ),
  extension(
    'bgp-peer-import-policy',
    'BGP peers that are learned from',
    "Beyond neutron-dynamic-routing, whose speakers only advertise: a peer may let the speakers learn routes from it. accept_default_route (default false), accepted_prefixes (CIDRs of the peer's family, each accepting itself and its more-specifics; default []), max_prefixes (routes learned per session before the session is restarted; null: no limit). Off by default: nothing is learned. GET /v2.0/bgp-speakers/<id>/get_learned_routes lists what the speakers learned.",
  ),
  extension(
    'bgp-peer-bfd',
    'BFD on BGP sessions',
    'bfd (default false): the sessions with the peer run BFD (RFC 5880), so a dead link or peer is noticed in about a second.',
  ),
];
