/**
 * Which service owns which Neutron collection: the gateway routes `/v2.0/<collection>`
 * to the owner. Later services add their collections here.
 */
export const SERVICE_OF_COLLECTION = {
  networks: 'ipam',
  subnets: 'ipam',
  ports: 'ipam',
  subnetpools: 'ipam',
  'address-scopes': 'ipam',
  'rbac-policies': 'ipam',
  agents: 'ipam',
  quotas: 'ipam',
  routers: 'l3',
  floatingips: 'l3',
  'bgp-speakers': 'bgp',
  'bgp-peers': 'bgp',
  instances: 'metadata',
  'security-groups': 'secgroups',
  'security-group-rules': 'secgroups',
} as const satisfies Record<string, string>;

/**
 * Sub-resources owned by another service than their collection, as `<collection>/<sub>`:
 * `/v2.0/networks/<id>/dhcp-agents` is the DHCP service's, although networks are IPAM's.
 */
export const SERVICE_OF_SUBRESOURCE = {
  'networks/dhcp-agents': 'dhcp',
  'agents/dhcp-networks': 'dhcp',
  'agents/bgp-drinstances': 'bgp',
} as const satisfies Record<string, string>;

export type ApiService =
  (typeof SERVICE_OF_COLLECTION)[keyof typeof SERVICE_OF_COLLECTION] | (typeof SERVICE_OF_SUBRESOURCE)[keyof typeof SERVICE_OF_SUBRESOURCE];

/** Singular resource names for the `GET /v2.0/` resource list. */
export const SINGULAR_OF_COLLECTION: Record<keyof typeof SERVICE_OF_COLLECTION, string> = {
  networks: 'network',
  subnets: 'subnet',
  ports: 'port',
  subnetpools: 'subnetpool',
  'address-scopes': 'address_scope',
  'rbac-policies': 'rbac_policy',
  agents: 'agent',
  quotas: 'quota',
  routers: 'router',
  floatingips: 'floatingip',
  'bgp-speakers': 'bgp_speaker',
  'bgp-peers': 'bgp_peer',
  instances: 'instance',
  'security-groups': 'security_group',
  'security-group-rules': 'security_group_rule',
};
