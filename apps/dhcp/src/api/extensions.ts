import { extension } from '@ncp/nest-common';

/** Exactly the Neutron extensions the DHCP service implements. */
export const DHCP_EXTENSIONS = [
  extension(
    'dhcp_agent_scheduler',
    'DHCP Agent Scheduler',
    'GET /v2.0/networks/<id>/dhcp-agents and /v2.0/agents/<id>/dhcp-networks: the agent serving DHCP for a network (one per network, placed automatically on a live network agent); POST /v2.0/agents/<id>/dhcp-networks {"network_id"} pins a network to an agent, DELETE /v2.0/agents/<id>/dhcp-networks/<network id> releases it.',
  ),
];
