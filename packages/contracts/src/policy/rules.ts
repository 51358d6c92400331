/**
 * Neutron's default policy (the secure RBAC defaults neutron-server applies with
 * `enforce_new_defaults`), as decisions: one check per rule name, for the resources this
 * control plane serves. The rule names and their meaning are Neutron's
 * (neutron/conf/policies/*.py, neutron-lib's policy rules, neutron-dynamic-routing's BGP
 * policies); each check below says in its comment which default it encodes.
 *
 * A check sees the caller and the target through a `PolicyContext`: whether the caller holds
 * a role, and how the caller stands to the target (its project, its network's project, ...).
 * What "shared" and "external" mean for the caller (the object's RBAC entries, rbac.ts) is
 * decided by the adapter that builds the target, never here.
 */

/** Roles the defaults name. `manager` sits between admin and member (Keystone 2024.2+). */
export type PolicyRole = 'admin' | 'manager' | 'member' | 'reader' | 'service' | 'data_plane_integrator';

export interface PolicyContext {
  hasRole(role: PolicyRole): boolean;
  /** `project_id:%(project_id)s`: the caller's project owns the target. */
  readonly owner: boolean;
  /** `rule:network_owner`: the caller's project owns the target's network (ports, subnets). */
  readonly networkOwner: boolean;
  /** `rule:sg_owner`: the caller's project owns the rule's security group. */
  readonly sgOwner: boolean;
  /** `rule:shared` (and shared_subnetpools, shared_address_scopes, shared_security_group): shared with the caller. */
  readonly shared: boolean;
  /** `rule:external` / `rule:external_network`: the target (or its network) is external for the caller. */
  readonly external: boolean;
  /** `rule:network_device`: the port's device_owner starts with `network:`. */
  readonly networkDevice: boolean;
  /** `field:rbac_policy:target_tenant=*`: an RBAC entry for every project. */
  readonly wildcardTarget: boolean;
}

export type Check = (c: PolicyContext) => boolean;

const or =
  (...checks: Check[]): Check =>
  (c) =>
    checks.some((f) => f(c));
const and =
  (...checks: Check[]): Check =>
  (c) =>
    checks.every((f) => f(c));
const not =
  (check: Check): Check =>
  (c) =>
    !check(c);
const role =
  (r: PolicyRole): Check =>
  (c) =>
    c.hasRole(r);

// neutron-lib's building blocks (neutron_lib/policy/rules.py) and neutron's base rules.
const ADMIN: Check = role('admin');
const SERVICE: Check = role('service');
const OWNER: Check = (c) => c.owner;
const NETWORK_OWNER: Check = (c) => c.networkOwner;
const SG_OWNER: Check = (c) => c.sgOwner;
const SHARED: Check = (c) => c.shared;
const EXTERNAL: Check = (c) => c.external;
const NETWORK_DEVICE: Check = (c) => c.networkDevice;
const RESTRICT_WILDCARD: Check = or(ADMIN, (c) => !c.wildcardTarget);
const PROJECT_MANAGER = and(role('manager'), OWNER);
const PROJECT_MEMBER = and(role('member'), OWNER);
const PROJECT_READER = and(role('reader'), OWNER);
const NET_OWNER_MEMBER = and(role('member'), NETWORK_OWNER);
const NET_OWNER_READER = and(role('reader'), NETWORK_OWNER);
const ADMIN_OR_SERVICE = or(ADMIN, SERVICE);
const ADMIN_OR_PROJECT_MANAGER = or(ADMIN, PROJECT_MANAGER);
const ADMIN_OR_PROJECT_MEMBER = or(ADMIN, PROJECT_MEMBER);
const ADMIN_OR_PROJECT_READER = or(ADMIN, PROJECT_READER);
const ADMIN_OR_NET_OWNER_MEMBER = or(ADMIN, NET_OWNER_MEMBER);
const ADMIN_OR_SG_OWNER_MEMBER = or(ADMIN, and(role('member'), SG_OWNER));
const ADMIN_OR_SG_OWNER_READER = or(ADMIN, and(role('reader'), SG_OWNER));

/** Every rule, by Neutron's name. */
export const NEUTRON_RULES = {
  // networks (neutron/conf/policies/network.py)
  create_network: ADMIN_OR_PROJECT_MEMBER,
  'create_network:shared': ADMIN,
  'create_network:router:external': ADMIN,
  'create_network:is_default': ADMIN,
  'create_network:port_security_enabled': ADMIN_OR_PROJECT_MEMBER,
  'create_network:segments': ADMIN,
  'create_network:provider:network_type': ADMIN,
  'create_network:provider:physical_network': ADMIN,
  'create_network:provider:segmentation_id': ADMIN,
  get_network: or(ADMIN_OR_PROJECT_READER, SERVICE, SHARED, EXTERNAL),
  'get_network:segments': ADMIN,
  'get_network:provider:network_type': ADMIN,
  'get_network:provider:physical_network': ADMIN,
  'get_network:provider:segmentation_id': ADMIN,
  update_network: ADMIN_OR_PROJECT_MEMBER,
  'update_network:segments': ADMIN,
  'update_network:shared': ADMIN,
  'update_network:provider:network_type': ADMIN,
  'update_network:provider:physical_network': ADMIN,
  'update_network:provider:segmentation_id': ADMIN,
  'update_network:router:external': ADMIN,
  'update_network:is_default': ADMIN,
  'update_network:port_security_enabled': ADMIN_OR_PROJECT_MEMBER,
  delete_network: ADMIN_OR_PROJECT_MEMBER,
  // Neutron's network IP availability (network_ip_availability.py).
  get_network_ip_availability: ADMIN_OR_SERVICE,

  // subnets (subnet.py). `get_subnet` is the rule before the `subnet-external-network`
  // extension (Neutron 2024.2) added `rule:external_network`: this API does not offer that
  // extension, so, as Neutron without it, a subnet of an external network that is not shared
  // is not visible to other projects (Tempest's test_external_network_visibility).
  create_subnet: ADMIN_OR_NET_OWNER_MEMBER,
  'create_subnet:segment_id': ADMIN,
  'create_subnet:service_types': ADMIN,
  get_subnet: or(PROJECT_READER, SHARED, ADMIN, NET_OWNER_READER, SERVICE),
  'get_subnet:segment_id': ADMIN,
  update_subnet: or(PROJECT_MEMBER, ADMIN, NET_OWNER_MEMBER),
  'update_subnet:segment_id': ADMIN,
  'update_subnet:service_types': ADMIN,
  delete_subnet: or(PROJECT_MEMBER, ADMIN, NET_OWNER_MEMBER),

  // ports (port.py)
  // Neutron 2024.1 to 2026.1: a project member's port (`ADMIN_OR_PROJECT_MEMBER or SERVICE`) on
  // a network the project owns or that is shared with it (what OwnershipValidationHook added).
  // Neutron master folded the hook into the rule as `... or rule:shared`, which no longer asks
  // for the member role on a shared network; a reader stays read-only here.
  create_port: or(ADMIN, SERVICE, and(PROJECT_MEMBER, or(NETWORK_OWNER, SHARED))),
  'create_port:device_id': or(ADMIN_OR_PROJECT_MEMBER, SERVICE),
  'create_port:device_owner': or(not(NETWORK_DEVICE), ADMIN, SERVICE, NET_OWNER_MEMBER),
  'create_port:mac_address': or(ADMIN, SERVICE, NET_OWNER_MEMBER),
  'create_port:fixed_ips': or(ADMIN, SERVICE, NET_OWNER_MEMBER, SHARED),
  'create_port:fixed_ips:ip_address': or(ADMIN, SERVICE, NET_OWNER_MEMBER),
  'create_port:fixed_ips:subnet_id': or(ADMIN, SERVICE, NET_OWNER_MEMBER, SHARED),
  'create_port:port_security_enabled': or(ADMIN, SERVICE, NET_OWNER_MEMBER),
  'create_port:binding:host_id': ADMIN_OR_SERVICE,
  'create_port:binding:profile': SERVICE,
  'create_port:binding:vnic_type': or(ADMIN_OR_PROJECT_MEMBER, SERVICE),
  'create_port:allowed_address_pairs': or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE),
  'create_port:allowed_address_pairs:mac_address': or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE),
  'create_port:allowed_address_pairs:ip_address': or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE),
  'create_port:hints': ADMIN,
  'create_port:trusted': ADMIN,
  get_port: or(ADMIN, SERVICE, NET_OWNER_READER, PROJECT_READER),
  'get_port:binding:vif_type': ADMIN_OR_SERVICE,
  'get_port:binding:vif_details': ADMIN_OR_SERVICE,
  'get_port:binding:host_id': ADMIN_OR_SERVICE,
  'get_port:binding:profile': ADMIN_OR_SERVICE,
  'get_port:resource_request': ADMIN,
  'get_port:hints': ADMIN,
  'get_port:trusted': ADMIN,
  update_port: or(ADMIN, SERVICE, PROJECT_MEMBER),
  'update_port:device_id': or(ADMIN_OR_PROJECT_MEMBER, SERVICE),
  'update_port:device_owner': or(not(NETWORK_DEVICE), ADMIN, SERVICE, NET_OWNER_MEMBER),
  'update_port:mac_address': or(ADMIN, SERVICE, and(role('manager'), NETWORK_OWNER)),
  'update_port:fixed_ips': or(ADMIN, SERVICE, NET_OWNER_MEMBER),
  'update_port:fixed_ips:ip_address': or(ADMIN, SERVICE, NET_OWNER_MEMBER),
  'update_port:fixed_ips:subnet_id': or(ADMIN, SERVICE, NET_OWNER_MEMBER, SHARED),
  'update_port:port_security_enabled': or(ADMIN, SERVICE, NET_OWNER_MEMBER),
  'update_port:binding:host_id': ADMIN_OR_SERVICE,
  'update_port:binding:profile': SERVICE,
  'update_port:binding:vnic_type': or(ADMIN, SERVICE, PROJECT_MEMBER),
  'update_port:allowed_address_pairs': or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE),
  'update_port:allowed_address_pairs:mac_address': or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE),
  'update_port:allowed_address_pairs:ip_address': or(ADMIN_OR_NET_OWNER_MEMBER, SERVICE),
  'update_port:data_plane_status': or(ADMIN, role('data_plane_integrator')),
  'update_port:hints': ADMIN,
  'update_port:trusted': ADMIN,
  delete_port: or(ADMIN, SERVICE, NET_OWNER_MEMBER, PROJECT_MEMBER),

  // subnet pools (subnetpool.py) and address scopes (address_scope.py)
  create_subnetpool: ADMIN_OR_PROJECT_MEMBER,
  'create_subnetpool:shared': ADMIN,
  'create_subnetpool:is_default': ADMIN,
  get_subnetpool: or(ADMIN_OR_PROJECT_READER, SHARED),
  update_subnetpool: ADMIN_OR_PROJECT_MEMBER,
  'update_subnetpool:is_default': ADMIN,
  delete_subnetpool: ADMIN_OR_PROJECT_MEMBER,
  onboard_network_subnets: ADMIN_OR_PROJECT_MEMBER,
  add_prefixes: ADMIN_OR_PROJECT_MEMBER,
  remove_prefixes: ADMIN_OR_PROJECT_MEMBER,
  create_address_scope: ADMIN_OR_PROJECT_MEMBER,
  'create_address_scope:shared': ADMIN,
  get_address_scope: or(ADMIN, PROJECT_READER, SHARED),
  update_address_scope: ADMIN_OR_PROJECT_MEMBER,
  'update_address_scope:shared': ADMIN,
  delete_address_scope: ADMIN_OR_PROJECT_MEMBER,

  // RBAC entries (rbac.py): sharing with every project is the admin's
  create_rbac_policy: ADMIN_OR_PROJECT_MEMBER,
  'create_rbac_policy:target_tenant': RESTRICT_WILDCARD,
  'create_rbac_policy:target_project': RESTRICT_WILDCARD,
  get_rbac_policy: ADMIN_OR_PROJECT_READER,
  update_rbac_policy: ADMIN_OR_PROJECT_MEMBER,
  'update_rbac_policy:target_tenant': and(RESTRICT_WILDCARD, ADMIN_OR_PROJECT_MEMBER),
  'update_rbac_policy:target_project': and(RESTRICT_WILDCARD, ADMIN_OR_PROJECT_MEMBER),
  delete_rbac_policy: ADMIN_OR_PROJECT_MEMBER,

  // routers (router.py)
  create_router: ADMIN_OR_PROJECT_MEMBER,
  'create_router:distributed': ADMIN,
  'create_router:ha': ADMIN,
  'create_router:external_gateway_info': ADMIN_OR_PROJECT_MEMBER,
  'create_router:external_gateway_info:network_id': ADMIN_OR_PROJECT_MEMBER,
  'create_router:external_gateway_info:enable_snat': ADMIN,
  'create_router:external_gateway_info:external_fixed_ips': ADMIN,
  'create_router:enable_default_route_bfd': ADMIN,
  'create_router:enable_default_route_ecmp': ADMIN,
  get_router: ADMIN_OR_PROJECT_READER,
  'get_router:distributed': ADMIN,
  'get_router:ha': ADMIN,
  update_router: ADMIN_OR_PROJECT_MEMBER,
  'update_router:distributed': ADMIN,
  'update_router:ha': ADMIN,
  'update_router:external_gateway_info': ADMIN_OR_PROJECT_MEMBER,
  'update_router:external_gateway_info:network_id': ADMIN_OR_PROJECT_MEMBER,
  'update_router:external_gateway_info:enable_snat': ADMIN,
  'update_router:external_gateway_info:external_fixed_ips': ADMIN,
  'update_router:enable_default_route_bfd': ADMIN,
  'update_router:enable_default_route_ecmp': ADMIN,
  delete_router: ADMIN_OR_PROJECT_MEMBER,
  add_router_interface: ADMIN_OR_PROJECT_MEMBER,
  remove_router_interface: ADMIN_OR_PROJECT_MEMBER,
  add_extraroutes: ADMIN_OR_PROJECT_MEMBER,
  remove_extraroutes: ADMIN_OR_PROJECT_MEMBER,

  // floating IPs (floatingip.py, floatingip_pools.py)
  create_floatingip: ADMIN_OR_PROJECT_MEMBER,
  'create_floatingip:floating_ip_address': ADMIN_OR_PROJECT_MANAGER,
  get_floatingip: ADMIN_OR_PROJECT_READER,
  update_floatingip: ADMIN_OR_PROJECT_MEMBER,
  delete_floatingip: ADMIN_OR_PROJECT_MEMBER,
  get_floatingip_pool: ADMIN_OR_PROJECT_READER,

  // security groups (security_group.py)
  create_security_group: ADMIN_OR_PROJECT_MEMBER,
  get_security_group: or(ADMIN_OR_PROJECT_READER, SHARED),
  update_security_group: ADMIN_OR_PROJECT_MEMBER,
  delete_security_group: ADMIN_OR_PROJECT_MEMBER,
  create_security_group_rule: ADMIN_OR_SG_OWNER_MEMBER,
  get_security_group_rule: ADMIN_OR_SG_OWNER_READER,
  delete_security_group_rule: ADMIN_OR_SG_OWNER_MEMBER,

  // agents and their scheduling (agent.py): admins only.
  create_agent: ADMIN,
  get_agent: ADMIN,
  update_agent: ADMIN,
  delete_agent: ADMIN,
  'create_dhcp-network': ADMIN,
  'get_dhcp-networks': ADMIN,
  'delete_dhcp-network': ADMIN,
  'get_dhcp-agents': ADMIN,
  'create_l3-router': ADMIN,
  'get_l3-routers': ADMIN,
  'delete_l3-router': ADMIN,
  'get_l3-agents': ADMIN,

  // quotas (quotas.py): a project's readers see its quotas; only admins change them.
  get_quota: ADMIN_OR_PROJECT_READER,
  update_quota: ADMIN,
  delete_quota: ADMIN,

  // BGP (neutron-dynamic-routing's bgp policies): admins only, every call.
  create_bgp_speaker: ADMIN,
  get_bgp_speaker: ADMIN,
  update_bgp_speaker: ADMIN,
  delete_bgp_speaker: ADMIN,
  add_bgp_peer: ADMIN,
  remove_bgp_peer: ADMIN,
  add_gateway_network: ADMIN,
  remove_gateway_network: ADMIN,
  get_advertised_routes: ADMIN,
  // beyond Neutron: what the speakers learned, as confidential as what they advertise
  get_learned_routes: ADMIN,
  create_bgp_peer: ADMIN,
  get_bgp_peer: ADMIN,
  update_bgp_peer: ADMIN,
  delete_bgp_peer: ADMIN,
  add_bgp_speaker_to_dragent: ADMIN,
  remove_bgp_speaker_from_dragent: ADMIN,
  list_bgp_speaker_on_dragent: ADMIN,
  list_dragent_hosting_bgp_speaker: ADMIN,

  // Instances (this control plane's metadata extension): Neutron's `default` rule shape with
  // the secure-RBAC personas, as every project-owned Neutron resource.
  create_instance: ADMIN_OR_PROJECT_MEMBER,
  get_instance: ADMIN_OR_PROJECT_READER,
  update_instance: ADMIN_OR_PROJECT_MEMBER,
  delete_instance: ADMIN_OR_PROJECT_MEMBER,
} satisfies Record<string, Check>;

export type PolicyAction = keyof typeof NEUTRON_RULES;
