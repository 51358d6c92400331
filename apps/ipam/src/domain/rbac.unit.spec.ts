import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { attributeEntryId, legacyAttributeEntryId, type NetworkEvent, type RbacAction, type SubnetPoolEvent } from '@ncp/contracts';
import { NET, mtuPolicy, networkCreated, portCreated, portRequest, vxlan } from './__fixtures__/ipam';
import { addressScopeDecider } from './address-scope.decider';
import { networkDecider } from './network.decider';
import { networkFromJson, networkToJson } from './network.state';
import { subnetPoolDecider } from './subnet-pool.decider';

const networks = deciderSpec(networkDecider);
const member = (projectId: string) => ({ projectId, isAdmin: false, roles: ['member', 'reader'] });
const admin = { projectId: 'admin-project', isAdmin: true, roles: ['admin', 'member', 'reader'] };

const entry = (policyId: string, targetProject: string, action: RbacAction = 'access_as_shared', projectId = 'project-a'): NetworkEvent => ({
  type: 'RbacPolicyCreated',
  data: { policyId, action, targetProject, projectId },
});
const create = (policyId: string, targetProject: string, action: RbacAction = 'access_as_shared', projectId = 'project-a') => ({
  type: 'CreateRbacPolicy' as const,
  id: NET,
  policyId,
  action,
  targetProject,
  projectId,
});
const createPort = (projectId: string) => ({
  type: 'CreatePort' as const,
  id: NET,
  portId: `port-${projectId}`,
  projectId,
  request: { ...portRequest, fixedIps: [] },
  macPrefix: 'fa:16:3e',
});
/** A port of project-b on the network (as an admin would make it, or project-b while shared). */
const portOfB = (): NetworkEvent => {
  const e = portCreated('pb', 'fa:16:3e:00:00:0b', []);
  return { ...e, data: { ...e.data, projectId: 'project-b' } } as NetworkEvent;
};

describe('RBAC on networks', () => {
  it('gives shared and external networks of events written before RBAC wildcard entries with ids derived from the network', () => {
    const state = networks.given([networkCreated({ shared: true, external: true })], NET).state();
    expect(state.rbac).toEqual([
      { id: legacyAttributeEntryId(NET, 'access_as_shared'), action: 'access_as_shared', targetProject: '*', projectId: 'project-a' },
      { id: legacyAttributeEntryId(NET, 'access_as_external'), action: 'access_as_external', targetProject: '*', projectId: 'project-a' },
    ]);
    expect(state.shared).toBe(true);
  });

  it('records the id of the entry `shared: true` makes on the event, and takes only the wildcard away on `shared: false`', () => {
    const [created] = networks
      .given([])
      .when(
        {
          type: 'CreateNetwork',
          id: NET,
          projectId: 'project-a',
          attributes: { name: 'n', description: '', adminStateUp: true, shared: true, external: false, portSecurityEnabled: true },
          segment: vxlan(100),
          mtuPolicy,
        },
        admin,
      )
      .events();
    expect(created?.type === 'NetworkCreated' && created.data.sharedPolicyId).toBe(attributeEntryId(NET, 'access_as_shared', 0));
    if (!created) throw new Error('no NetworkCreated');
    const unshared = networks.given([created, entry('to-b', 'project-b'), { type: 'NetworkUpdated', data: { changes: { shared: false } } }], NET).state();
    expect(unshared.shared).toBe(false);
    expect(unshared.rbac.map((e) => e.id)).toEqual(['to-b']);
  });

  it('lets the owner share with one project: that project sees the network and creates ports on it, a third does not', () => {
    const granted = networks.given([networkCreated()], NET).when(create('to-b', 'project-b'), member('project-a')).events();
    expect(granted).toEqual([entry('to-b', 'project-b')]);
    const shared = [networkCreated(), ...granted];
    expect(networks.given(shared, NET).when(createPort('project-b'), member('project-b')).events()[0]?.type).toBe('PortCreated');
    networks.given(shared, NET).when(createPort('project-c'), member('project-c')).thenThrows('IPAM.NetworkNotFound');
    networks.given([networkCreated()], NET).when(createPort('project-b'), member('project-b')).thenThrows('IPAM.NetworkNotFound');
  });

  it('keeps sharing with every project to admins, and entries to the owner', () => {
    networks
      .given([networkCreated()], NET)
      .when(create('all', '*'), member('project-a'))
      .thenThrows('IPAM.PolicyNotAuthorized', /create_rbac_policy:target_tenant/);
    expect(networks.given([networkCreated()], NET).when(create('all', '*'), admin).events()[0]?.type).toBe('RbacPolicyCreated');
    // project-b sees the network through its entry, but may not grant it on
    networks
      .given([networkCreated(), entry('to-b', 'project-b')], NET)
      .when(create('to-c', 'project-c', 'access_as_shared', 'project-b'), member('project-b'))
      .thenThrows('IPAM.InvalidInput', /Only admins can manipulate policies on networks they do not own/);
    networks.given([networkCreated()], NET).when(create('to-b', 'project-b'), member('project-c')).thenThrows('IPAM.NetworkNotFound');
  });

  it('refuses a second entry with the same action and target', () => {
    networks
      .given([networkCreated(), entry('to-b', 'project-b')], NET)
      .when(create('again', 'project-b'), member('project-a'))
      .thenThrows('IPAM.DuplicateRbacPolicy');
    expect(
      networks
        .given([networkCreated(), entry('to-b', 'project-b')], NET)
        .when(create('ext', 'project-b', 'access_as_external'), admin)
        .events(),
    ).toHaveLength(1);
  });

  it('refuses to take sharing from a project that has ports on the network, unless another entry still grants it', () => {
    const withPort = [networkCreated(), entry('to-b', 'project-b'), portOfB()];
    networks
      .given(withPort, NET)
      .when({ type: 'DeleteRbacPolicy', id: NET, policyId: 'to-b' }, member('project-a'))
      .thenThrows('IPAM.RbacPolicyInUse', /port pb of project project-b/);
    networks
      .given(withPort, NET)
      .when({ type: 'UpdateRbacPolicy', id: NET, policyId: 'to-b', targetProject: 'project-c' }, member('project-a'))
      .thenThrows('IPAM.RbacPolicyInUse');
    networks
      .given([...withPort, entry('all', '*')], NET)
      .when({ type: 'DeleteRbacPolicy', id: NET, policyId: 'to-b' }, member('project-a'))
      .then([{ type: 'RbacPolicyDeleted', data: { policyId: 'to-b' } }]);
    // unsharing takes the wildcard only: project-b keeps its own entry, and its port
    expect(
      networks
        .given([...withPort, entry('all', '*')], NET)
        .when({ type: 'UpdateNetwork', id: NET, changes: { shared: false }, mtuPolicy }, admin)
        .events()[0]?.type,
    ).toBe('NetworkUpdated');
    networks
      .given([networkCreated(), entry('all', '*'), portOfB()], NET)
      .when({ type: 'UpdateNetwork', id: NET, changes: { shared: false }, mtuPolicy }, admin)
      .thenThrows('IPAM.InvalidSharedSetting');
  });

  it('shows an entry only to its project: the project it grants gets not found', () => {
    networks
      .given([networkCreated(), entry('to-b', 'project-b')], NET)
      .when({ type: 'DeleteRbacPolicy', id: NET, policyId: 'to-b' }, member('project-b'))
      .thenThrows('IPAM.RbacPolicyNotFound');
    networks
      .given([networkCreated(), entry('to-b', 'project-b')], NET)
      .when({ type: 'DeleteRbacPolicy', id: NET, policyId: 'to-b' }, { ...member('project-a'), roles: ['reader'] })
      .thenThrows('IPAM.PolicyNotAuthorized', /delete_rbac_policy/);
  });

  it('makes a network external with an access_as_external entry, and internal again when the last one goes', () => {
    const external = networks.given([networkCreated(), entry('ext-b', 'project-b', 'access_as_external')], NET).state();
    expect(external.external).toBe(true);
    const internal = networks
      .given([networkCreated(), entry('ext-b', 'project-b', 'access_as_external'), { type: 'RbacPolicyDeleted', data: { policyId: 'ext-b' } }], NET)
      .state();
    expect(internal.external).toBe(false);
  });

  it('keeps its entries and its id in a snapshot', () => {
    const state = networks.given([networkCreated({ shared: true }), entry('to-b', 'project-b')], NET).state();
    const back = networkFromJson(JSON.parse(JSON.stringify(networkToJson(state))));
    expect(back.id).toBe(NET);
    expect(back.rbac).toEqual(state.rbac);
  });
});

describe('RBAC on subnet pools and address scopes', () => {
  const pools = deciderSpec(subnetPoolDecider);
  const poolCreated: SubnetPoolEvent = {
    type: 'SubnetPoolCreated',
    data: {
      projectId: 'project-a',
      ipVersion: 4,
      prefixes: ['10.10.0.0/16'],
      name: 'p',
      description: '',
      defaultPrefixLength: 24,
      minPrefixLength: 8,
      maxPrefixLength: 32,
      defaultQuota: null,
      shared: false,
      isDefault: false,
      addressScopeId: null,
    },
  };
  const poolEntry: SubnetPoolEvent = {
    type: 'RbacPolicyCreated',
    data: { policyId: 'pool-b', action: 'access_as_shared', targetProject: 'project-b', projectId: 'project-a' },
  };
  const allocate = { type: 'AllocatePrefix' as const, id: 'pool', subnetId: 'sb', networkId: 'nb', projectId: 'project-b' };

  it('lets a project an entry names allocate from the pool, and refuses to take the entry while it has subnets from it', () => {
    pools.given([poolCreated], 'pool').when(allocate, member('project-b')).thenThrows('IPAM.SubnetPoolNotFound');
    const allocated = pools.given([poolCreated, poolEntry], 'pool').when(allocate, member('project-b')).events();
    expect(allocated[0]?.type).toBe('SubnetPoolPrefixAllocated');
    pools
      .given([poolCreated, poolEntry, ...allocated], 'pool')
      .when({ type: 'DeleteRbacPolicy', id: 'pool', policyId: 'pool-b' }, member('project-a'))
      .thenThrows('IPAM.RbacPolicyInUse', /subnet sb of project project-b/);
  });

  it('refuses actions that do not exist for the object type', () => {
    pools
      .given([poolCreated], 'pool')
      .when({ type: 'CreateRbacPolicy', id: 'pool', policyId: 'x', action: 'access_as_external', targetProject: 'project-b', projectId: 'project-a' }, admin)
      .thenThrows('IPAM.InvalidInput', /Invalid action 'access_as_external' for object type 'subnetpool'/);
  });

  it('shares an address scope with one project', () => {
    const scopes = deciderSpec(addressScopeDecider);
    const scope = { type: 'AddressScopeCreated' as const, data: { projectId: 'project-a', name: 's', ipVersion: 4 as const, shared: false } };
    const claim = { type: 'ClaimPrefixes' as const, id: 'scope', subnetPoolId: 'pool-of-b', ipVersion: 4 as const, prefixes: ['10.20.0.0/16'] };
    scopes.given([scope], 'scope').when(claim, member('project-b')).thenThrows('IPAM.AddressScopeNotFound');
    const granted = scopes
      .given([scope], 'scope')
      .when(
        { type: 'CreateRbacPolicy', id: 'scope', policyId: 's-b', action: 'access_as_shared', targetProject: 'project-b', projectId: 'project-a' },
        member('project-a'),
      )
      .events();
    expect(
      scopes
        .given([scope, ...granted], 'scope')
        .when(claim, member('project-b'))
        .events()[0]?.type,
    ).toBe('AddressScopePrefixesClaimed');
  });
});
