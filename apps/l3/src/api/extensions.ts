import { extension } from '@ncp/nest-common';

/** Exactly the Neutron extensions L3 implements, plus its own. */
export const L3_EXTENSIONS = [
  extension('router', 'Neutron L3 Router', 'Routers, router interfaces and floating IPs.'),
  extension('ext-gw-mode', 'Neutron L3 Configurable external gateway mode', 'enable_snat in external_gateway_info.'),
  extension('extraroute', 'Neutron Extra Route', 'Extra routes on routers.'),
  extension('extraroute-atomic', 'Atomically add/remove extra routes', 'add_extraroutes and remove_extraroutes actions.'),
  extension('l3_agent_scheduler', 'L3 Agent Scheduler', 'GET /v2.0/routers/<id>/l3-agents: the agent a router runs on.'),
  extension('l3-ha', 'HA Router extension', 'The ha attribute (stored; routers run on one agent until HA arrives).'),
  extension('dvr', 'Distributed Virtual Router', 'The distributed attribute (stored; routers are centralised).'),
  extension(
    'router-nat-exclusions',
    'Router NAT exclusions (ncp)',
    "Beyond Neutron: nat_exclusions on routers lists destination CIDRs reached with the instance's own address while everything else is SNATed; replaces the out-of-tree dmz_cidr patch.",
  ),
  extension(
    'address-scope-no-nat',
    'No NAT within an address scope (ncp)',
    "An internal IPv4 subnet in the same address scope as the router's external subnet is routed with its own addresses, never SNATed.",
  ),
];
