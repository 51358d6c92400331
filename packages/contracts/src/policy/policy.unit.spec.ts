import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../errors';
import {
  attributesSet,
  authorize,
  CREATE_DEFAULTS,
  enforce,
  enforceAttributes,
  hiddenAttributes,
  readScope,
  type PolicyCaller,
  type PolicyTarget,
} from './policy';
import { NEUTRON_RULES, type PolicyAction } from './rules';

const OWNER = 'project-a';
const OTHER = 'project-b';
/** A third project: owns what is shared with (or external for) the personas. */
const THIRD = 'project-c';

/** The personas of every row: roles as Keystone lists them with the implied ones. */
const PERSONAS = {
  admin: { projectId: 'project-admin', isAdmin: true, roles: ['admin', 'member', 'reader'] },
  member: { projectId: OWNER, isAdmin: false, roles: ['member', 'reader'] },
  reader: { projectId: OWNER, isAdmin: false, roles: ['reader'] },
  other: { projectId: OTHER, isAdmin: false, roles: ['member', 'reader'] },
  service: { projectId: 'project-service', isAdmin: false, roles: ['service'] },
} satisfies Record<string, PolicyCaller>;
const NAMES = Object.keys(PERSONAS) as (keyof typeof PERSONAS)[];

/**
 * One row per rule (and target): the decision for admin, a member of the owner project, a
 * reader of it, a member of another project and a caller with the service role only, as
 * `Y`/`N` in that order. The decisions are those of Neutron's defaults for the rule named.
 */
type Row = [rule: PolicyAction, expected: string, target?: PolicyTarget];
const own: PolicyTarget = { projectId: OWNER };
const ownNet: PolicyTarget = { projectId: OWNER, networkProjectId: OWNER };
/** A port or subnet of another project on the owner's network. */
const onOwnNet: PolicyTarget = { projectId: OTHER, networkProjectId: OWNER };
/** A port of the owner project on another project's shared network. */
const onSharedNet: PolicyTarget = { projectId: OWNER, networkProjectId: THIRD, sharedWithCaller: true };
const sharedNet: PolicyTarget = { projectId: THIRD, sharedWithCaller: true };
const externalNet: PolicyTarget = { projectId: THIRD, externalForCaller: true };

const ROWS: Row[] = [
  // networks
  ['create_network', 'YYNNN', own],
  ['create_network:shared', 'YNNNN', own],
  ['create_network:router:external', 'YNNNN', own],
  ['create_network:provider:network_type', 'YNNNN', own],
  ['create_network:segments', 'YNNNN', own],
  ['get_network', 'YYYNY', own],
  ['get_network', 'YYYYY', sharedNet],
  ['get_network', 'YYYYY', externalNet],
  ['get_network:provider:physical_network', 'YNNNN', own],
  ['get_network:segments', 'YNNNN', own],
  ['update_network', 'YYNNN', own],
  ['update_network:shared', 'YNNNN', own],
  ['update_network:router:external', 'YNNNN', own],
  ['update_network:port_security_enabled', 'YYNNN', own],
  ['delete_network', 'YYNNN', own],
  ['delete_network', 'YNNNN', sharedNet],
  ['get_network_ip_availability', 'YNNNY', own],
  // subnets
  ['create_subnet', 'YYNNN', ownNet],
  ['create_subnet', 'YNNNN', { projectId: OWNER, networkProjectId: THIRD, sharedWithCaller: true }],
  ['get_subnet', 'YYYNY', ownNet],
  ['get_subnet', 'YYYYY', { projectId: THIRD, networkProjectId: THIRD, sharedWithCaller: true }],
  ['get_subnet', 'YNNNY', { projectId: THIRD, networkProjectId: THIRD, externalForCaller: true }],
  ['get_subnet:segment_id', 'YNNNN', ownNet],
  ['update_subnet', 'YYNNN', ownNet],
  ['update_subnet', 'YYNYN', onOwnNet],
  ['delete_subnet', 'YYNNN', ownNet],
  // ports
  ['create_port', 'YYNNY', ownNet],
  ['create_port', 'YYNNY', onSharedNet],
  ['create_port', 'YNNNY', { projectId: OWNER, networkProjectId: THIRD }],
  ['create_port:device_owner', 'YYNNY', { ...ownNet, deviceOwner: 'network:router_interface' }],
  ['create_port:device_owner', 'YNNNY', { ...onSharedNet, deviceOwner: 'network:router_interface' }],
  ['create_port:device_owner', 'YYYYY', { ...onSharedNet, deviceOwner: 'compute:nova' }],
  ['create_port:mac_address', 'YYNNY', ownNet],
  ['create_port:mac_address', 'YNNNY', onSharedNet],
  ['create_port:fixed_ips', 'YYYYY', onSharedNet],
  ['create_port:fixed_ips:ip_address', 'YNNNY', onSharedNet],
  ['create_port:fixed_ips:ip_address', 'YYNNY', ownNet],
  ['create_port:fixed_ips:subnet_id', 'YYYYY', onSharedNet],
  ['create_port:port_security_enabled', 'YNNNY', onSharedNet],
  ['create_port:binding:host_id', 'YNNNY', ownNet],
  ['create_port:binding:profile', 'NNNNY', ownNet],
  ['create_port:allowed_address_pairs', 'YYNNY', ownNet],
  ['create_port:allowed_address_pairs', 'YNNNY', onSharedNet],
  ['get_port', 'YYYNY', ownNet],
  ['get_port', 'YYYYY', onOwnNet],
  ['get_port', 'YYYNY', onSharedNet],
  ['get_port:binding:host_id', 'YNNNY', ownNet],
  ['get_port:binding:vif_type', 'YNNNY', ownNet],
  ['get_port:binding:profile', 'YNNNY', ownNet],
  ['update_port', 'YYNNY', ownNet],
  ['update_port', 'YNNYY', onOwnNet],
  ['update_port:mac_address', 'YNNNY', ownNet],
  ['update_port:fixed_ips', 'YNNNY', onSharedNet],
  ['update_port:binding:host_id', 'YNNNY', ownNet],
  ['update_port:device_owner', 'YNNNY', { ...onSharedNet, deviceOwner: 'network:dhcp' }],
  ['delete_port', 'YYNNY', ownNet],
  ['delete_port', 'YYNYY', onOwnNet],
  // subnet pools and address scopes
  ['create_subnetpool', 'YYNNN', own],
  ['create_subnetpool:shared', 'YNNNN', own],
  ['create_subnetpool:is_default', 'YNNNN', own],
  ['get_subnetpool', 'YYYNN', own],
  ['get_subnetpool', 'YYYYY', sharedNet],
  ['update_subnetpool', 'YYNNN', own],
  ['update_subnetpool', 'YNNNN', sharedNet],
  ['update_subnetpool:is_default', 'YNNNN', own],
  ['add_prefixes', 'YYNNN', own],
  ['delete_subnetpool', 'YYNNN', own],
  ['create_address_scope', 'YYNNN', own],
  ['create_address_scope:shared', 'YNNNN', own],
  ['get_address_scope', 'YYYNN', own],
  ['get_address_scope', 'YYYYY', sharedNet],
  ['update_address_scope', 'YYNNN', own],
  ['update_address_scope:shared', 'YNNNN', own],
  ['delete_address_scope', 'YYNNN', own],
  // routers
  ['create_router', 'YYNNN', own],
  ['create_router:distributed', 'YNNNN', own],
  ['create_router:ha', 'YNNNN', own],
  ['create_router:external_gateway_info', 'YYNNN', own],
  ['create_router:external_gateway_info:network_id', 'YYNNN', own],
  ['create_router:external_gateway_info:enable_snat', 'YNNNN', own],
  ['create_router:external_gateway_info:external_fixed_ips', 'YNNNN', own],
  ['get_router', 'YYYNN', own],
  ['get_router:distributed', 'YNNNN', own],
  ['get_router:ha', 'YNNNN', own],
  ['update_router', 'YYNNN', own],
  ['update_router:distributed', 'YNNNN', own],
  ['update_router:external_gateway_info:external_fixed_ips', 'YNNNN', own],
  ['delete_router', 'YYNNN', own],
  ['add_router_interface', 'YYNNN', own],
  ['remove_router_interface', 'YYNNN', own],
  ['add_extraroutes', 'YYNNN', own],
  ['remove_extraroutes', 'YYNNN', own],
  // floating IPs
  ['create_floatingip', 'YYNNN', own],
  ['create_floatingip:floating_ip_address', 'YNNNN', own],
  ['get_floatingip', 'YYYNN', own],
  ['update_floatingip', 'YYNNN', own],
  ['delete_floatingip', 'YYNNN', own],
  // security groups
  ['create_security_group', 'YYNNN', own],
  ['get_security_group', 'YYYNN', own],
  ['get_security_group', 'YYYYY', sharedNet],
  ['update_security_group', 'YYNNN', own],
  ['delete_security_group', 'YYNNN', own],
  ['create_security_group_rule', 'YYNNN', { projectId: OWNER, securityGroupProjectId: OWNER }],
  ['create_security_group_rule', 'YNNNN', { projectId: OWNER, securityGroupProjectId: THIRD }],
  ['get_security_group_rule', 'YYYNN', { projectId: OTHER, securityGroupProjectId: OWNER }],
  ['delete_security_group_rule', 'YYNNN', { projectId: OWNER, securityGroupProjectId: OWNER }],
  // RBAC entries: the owner's; sharing with every project is the admin's
  ['create_rbac_policy', 'YYNNN', own],
  ['create_rbac_policy:target_tenant', 'YYYYY', own],
  ['create_rbac_policy:target_tenant', 'YNNNN', { projectId: OWNER, wildcardTarget: true }],
  ['get_rbac_policy', 'YYYNN', own],
  ['update_rbac_policy', 'YYNNN', own],
  ['update_rbac_policy:target_tenant', 'YNNNN', { projectId: OWNER, wildcardTarget: true }],
  ['update_rbac_policy:target_tenant', 'YYNNN', own],
  ['delete_rbac_policy', 'YYNNN', own],
  // quotas: a project's readers see them, admins change them
  ['get_quota', 'YYYNN', own],
  ['update_quota', 'YNNNN', own],
  ['delete_quota', 'YNNNN', own],
  // agents, their scheduling, BGP: admins only
  ['get_agent', 'YNNNN', own],
  ['update_agent', 'YNNNN', own],
  ['delete_agent', 'YNNNN', own],
  ['get_dhcp-agents', 'YNNNN', own],
  ['create_dhcp-network', 'YNNNN', own],
  ['create_bgp_speaker', 'YNNNN', own],
  ['get_bgp_speaker', 'YNNNN', own],
  ['add_bgp_peer', 'YNNNN', own],
  ['get_advertised_routes', 'YNNNN', own],
  ['get_learned_routes', 'YNNNN', own],
  ['get_bgp_peer', 'YNNNN', own],
  ['add_bgp_speaker_to_dragent', 'YNNNN', own],
  // instances (the metadata extension)
  ['create_instance', 'YYNNN', own],
  ['get_instance', 'YYYNN', own],
  ['update_instance', 'YYNNN', own],
  ['delete_instance', 'YYNNN', own],
];

describe("Neutron's default policy", () => {
  it.each(ROWS)('%s: %s', (rule, expected, target) => {
    const decisions = NAMES.map((n) => (authorize(rule, PERSONAS[n], target) ? 'Y' : 'N')).join('');
    expect(`${rule} ${decisions}`).toBe(`${rule} ${expected}`);
  });

  it('has a row for every rule of the core resources', () => {
    const covered = new Set(ROWS.map(([rule]) => rule));
    const core = (Object.keys(NEUTRON_RULES) as PolicyAction[]).filter((r) =>
      /^(create|get|update|delete)_(network|subnet|port|router|floatingip|security_group|rbac_policy)$/.test(r),
    );
    expect(core.filter((r) => !covered.has(r))).toEqual([]);
  });

  it("gives a service's own metadata (no roles) every right, and metadata from before roles a member's", () => {
    const service = { projectId: '', isAdmin: true };
    expect(authorize('create_port:binding:profile', service, ownNet)).toBe(true);
    expect(authorize('get_agent', service)).toBe(true);
    const legacy = { projectId: OWNER, isAdmin: false };
    expect(authorize('update_network', legacy, own)).toBe(true);
    expect(authorize('update_network:shared', legacy, own)).toBe(false);
    expect(authorize('create_port:binding:host_id', legacy, ownNet)).toBe(false);
  });

  it('implies the roles Keystone implies, whether or not the token lists them', () => {
    expect(authorize('update_network', { projectId: OWNER, isAdmin: false, roles: ['manager'] }, own)).toBe(true);
    expect(authorize('create_floatingip:floating_ip_address', { projectId: OWNER, isAdmin: false, roles: ['manager'] }, own)).toBe(true);
    expect(authorize('get_network', { projectId: OWNER, isAdmin: true, roles: ['admin'] }, { projectId: OTHER })).toBe(true);
    expect(authorize('get_network', { projectId: OWNER, isAdmin: false, roles: ['member'] }, own)).toBe(true);
  });

  it('lets a caller with no role it knows see only what is shared or external, and change nothing', () => {
    const nobody = { projectId: OWNER, isAdmin: false, roles: ['observer'] };
    expect(authorize('get_network', nobody, own)).toBe(false);
    expect(authorize('get_network', nobody, sharedNet)).toBe(true);
    expect(authorize('update_network', nobody, own)).toBe(false);
    expect(readScope('get_network', nobody)).toEqual({ all: false, owner: false, networkOwner: false, sgOwner: false, shared: true, external: true });
  });
});

describe('enforce', () => {
  it("throws Neutron's PolicyNotAuthorized naming the rule", () => {
    expect(() => enforce('IPAM', 'update_network', PERSONAS.reader, own)).toThrow(ForbiddenError);
    try {
      enforce('IPAM', 'update_network', PERSONAS.reader, own);
    } catch (e) {
      expect([(e as ForbiddenError).code, (e as ForbiddenError).message]).toEqual(['IPAM.PolicyNotAuthorized', 'rule:update_network is disallowed by policy']);
    }
  });

  it('checks the rule of every attribute set, and of the keys inside it', () => {
    const refused = (attributes: string[], caller: PolicyCaller, target: PolicyTarget) => {
      try {
        enforceAttributes('IPAM', 'create_port', caller, target, attributes);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    };
    const body = attributesSet({ network_id: 'n', fixed_ips: [{ subnet_id: 's' }, { ip_address: '10.0.0.5' }], name: 'x' });
    expect(body).toEqual(['network_id', 'fixed_ips', 'fixed_ips:subnet_id', 'fixed_ips:ip_address', 'name']);
    expect(refused(body, PERSONAS.member, onSharedNet)).toBe('rule:create_port:fixed_ips:ip_address is disallowed by policy');
    expect(refused(body, PERSONAS.member, ownNet)).toBeNull();
    expect(refused(['network_id'], PERSONAS.other, { projectId: OTHER, networkProjectId: OWNER })).toBe('rule:create_port is disallowed by policy');
  });

  it("does not count an attribute given its default on a create (Neutron's explicitly-set test)", () => {
    expect(attributesSet({ name: 'n', shared: false, 'router:external': false }, CREATE_DEFAULTS.network)).toEqual(['name']);
    expect(attributesSet({ shared: true }, CREATE_DEFAULTS.network)).toEqual(['shared']);
    expect(attributesSet({ external_gateway_info: { network_id: 'e', enable_snat: false } })).toEqual([
      'external_gateway_info',
      'external_gateway_info:network_id',
      'external_gateway_info:enable_snat',
    ]);
  });
});

describe('what a caller reads', () => {
  it('hides the attributes whose get rule fails', () => {
    const attrs = ['id', 'binding:host_id', 'binding:vif_type', 'binding:profile', 'binding:vnic_type', 'mac_address'];
    expect(hiddenAttributes('port', PERSONAS.member, ownNet, attrs)).toEqual(['binding:host_id', 'binding:vif_type', 'binding:profile']);
    expect(hiddenAttributes('port', PERSONAS.admin, ownNet, attrs)).toEqual([]);
    expect(hiddenAttributes('port', PERSONAS.service, ownNet, attrs)).toEqual([]);
    expect(hiddenAttributes('router', PERSONAS.member, own, ['id', 'distributed', 'ha'])).toEqual(['distributed', 'ha']);
    expect(hiddenAttributes('network', PERSONAS.member, own, ['provider:network_type', 'router:external', 'shared', 'segments'])).toEqual([
      'provider:network_type',
      'segments',
    ]);
  });

  it('gives the rows a get rule allows as relations', () => {
    const none = { all: false, owner: false, networkOwner: false, sgOwner: false, shared: false, external: false };
    expect(readScope('get_network', PERSONAS.admin).all).toBe(true);
    expect(readScope('get_network', PERSONAS.service).all).toBe(true);
    expect(readScope('get_network', PERSONAS.reader)).toEqual({ ...none, owner: true, shared: true, external: true });
    expect(readScope('get_subnet', PERSONAS.member)).toEqual({ ...none, owner: true, networkOwner: true, shared: true });
    expect(readScope('get_port', PERSONAS.member)).toEqual({ ...none, owner: true, networkOwner: true });
    expect(readScope('get_router', PERSONAS.member)).toEqual({ ...none, owner: true });
    expect(readScope('get_security_group_rule', PERSONAS.member)).toEqual({ ...none, sgOwner: true });
    expect(readScope('get_agent', PERSONAS.member)).toEqual(none);
  });
});
