import { extension } from '@ncp/nest-common';

/** Exactly the Neutron extensions IPAM implements, plus its own. */
export const IPAM_EXTENSIONS = [
  extension('address-scope', 'Address scope', 'Address scopes group subnet pools whose prefixes never overlap.'),
  extension('subnet_allocation', 'Subnet Allocation', 'Subnets allocated from subnet pools.'),
  extension('subnetpool-prefix-ops', 'Subnet Pool Prefix Operations', 'add_prefixes and remove_prefixes on subnet pools.'),
  extension('default-subnetpools', 'Default Subnetpools', 'use_default_subnetpool on subnet create; one default pool per IP version.'),
  extension('external-net', 'Neutron external network', 'The router:external attribute of networks.'),
  extension('provider', 'Provider Network', 'provider:network_type (flat, vlan, vxlan, local), provider:physical_network and provider:segmentation_id.'),
  extension('net-mtu', 'Network MTU', 'The mtu attribute of networks.'),
  extension('net-mtu-writable', 'Network MTU (writable)', 'mtu may be set on create and update.'),
  extension('port-security', 'Port Security', 'port_security_enabled on networks and ports.'),
  extension('allowed-address-pairs', 'Allowed Address Pairs', 'Additional IP/MAC pairs a port may use.'),
  extension('extra_dhcp_opt', 'Neutron Extra DHCP options', 'Extra DHCP options handed to a port (extra_dhcp_opts), merged by name and IP version on update.'),
  extension(
    'quotas',
    'Quota management support',
    'Per-project limits of networks, subnets, ports, routers, floating IPs, security groups and their rules, and subnet pools (GET/PUT/DELETE /v2.0/quotas/<project_id>).',
  ),
  extension('quota_details', 'Quota details extension', 'GET /v2.0/quotas/<project_id>/details: each limit with what is used and reserved.'),
  extension('agent', 'agent', 'The agent management extension: GET /v2.0/agents (plus the row of each agent).'),
  extension('binding', 'Port Binding', 'binding:host_id, binding:profile, binding:vnic_type on ports.'),
  extension('subnet-service-types', 'Subnet service types', 'Subnets that serve only ports of given device owners.'),
  extension('project-id', 'project_id field enabled', 'project_id alongside tenant_id.'),
  extension('standard-attr-description', 'standard-attr-description', 'A description on every resource.'),
  extension('standard-attr-revisions', 'Resource revision numbers', 'revision_number on every resource.'),
  extension(
    'revision-if-match',
    'If-Match constraints based on revision_number',
    'PUT with If-Match: revision_number=N fails with 412 when the resource moved on.',
  ),
  extension('standard-attr-timestamp', 'Resource timestamps', 'created_at and updated_at on every resource.'),
  extension('pagination', 'Pagination support', 'limit, marker and page_reverse on lists.'),
  extension('sorting', 'Sorting support', 'sort_key and sort_dir on lists.'),
  extension('filter-validation', 'Filter parameters validation', 'Unknown filter attributes are refused with 400.'),
  extension('ip-substring-filtering', 'IP address substring filtering', 'fixed_ips=ip_address_substr=... on port lists.'),
  extension(
    'subnet-pool-layout',
    'Subnet pool layout (ncp)',
    'Beyond Neutron: a subnet taken from a pool may set its own gateway_ip and allocation_pools; the pool picks the first free prefix that holds them.',
  ),
];
