import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@ncp/testing';
import { type SubnetPoolEvent } from '@ncp/contracts';
import { parseIp } from '@ncp/netaddr';
import { segmentPolicy } from './__fixtures__/ipam';
import { addressScopeDecider } from './address-scope.decider';
import { registryDecider } from './registry.decider';
import { subnetPoolDecider, type SubnetPoolAttributes } from './subnet-pool.decider';

const attributes: SubnetPoolAttributes = {
  name: 'nonat-pool-ip4',
  description: '',
  defaultPrefixLength: 26,
  minPrefixLength: 8,
  maxPrefixLength: 32,
  defaultQuota: null,
  shared: false,
  isDefault: false,
  addressScopeId: 'scope-1',
};
const poolCreated: SubnetPoolEvent = {
  type: 'SubnetPoolCreated',
  data: { projectId: 'project-a', ipVersion: 4, prefixes: ['192.168.81.0/24'], ...attributes },
};
const allocated = (subnetId: string, cidr: string, projectId = 'project-a'): SubnetPoolEvent => ({
  type: 'SubnetPoolPrefixAllocated',
  data: { subnetId, networkId: 'n', projectId, cidr },
});
const pools = deciderSpec(subnetPoolDecider);
const allocate = (subnetId: string, extra: Record<string, unknown> = {}) => ({
  type: 'AllocatePrefix' as const,
  id: 'pool',
  subnetId,
  networkId: 'n',
  projectId: 'project-a',
  ...extra,
});

describe('subnet pool decider', () => {
  it('hands out /26s first-fit, as in the reference scenario', () => {
    pools
      .given([poolCreated])
      .when(allocate('s1'))
      .then([allocated('s1', '192.168.81.0/26')]);
    pools
      .given([poolCreated, allocated('s1', '192.168.81.0/26')])
      .when(allocate('s2'))
      .then([allocated('s2', '192.168.81.64/26')]);
  });

  it('finds the prefix that holds a requested gateway', () => {
    pools
      .given([poolCreated, allocated('s1', '192.168.81.0/26'), allocated('s2', '192.168.81.64/26')])
      .when(allocate('s3', { prefixLength: 26, mustContain: [parseIp('192.168.81.129'), parseIp('192.168.81.140')] }))
      .then([allocated('s3', '192.168.81.128/26')]);
  });

  it('is idempotent per subnet, for saga retries', () => {
    pools
      .given([poolCreated, allocated('s1', '192.168.81.0/26')])
      .when(allocate('s1'))
      .then([]);
  });

  it('refuses lengths outside the bounds, taken prefixes, exhaustion and quota', () => {
    pools
      .given([poolCreated])
      .when(allocate('s1', { prefixLength: 7 }))
      .thenThrows('IPAM.BadRequest', /minimum allowed prefix is 8/);
    pools
      .given([poolCreated, allocated('s1', '192.168.81.0/26')])
      .when(allocate('s2', { cidr: '192.168.81.0/27' }))
      .thenThrows('IPAM.SubnetAllocationError');
    pools
      .given([poolCreated])
      .when(allocate('s2', { cidr: '10.0.0.0/24' }))
      .thenThrows('IPAM.SubnetAllocationError', /not inside/);
    pools
      .given([poolCreated, allocated('s1', '192.168.81.0/24')])
      .when(allocate('s2'))
      .thenThrows('IPAM.SubnetAllocationError', /insufficient/);
    const quota: SubnetPoolEvent = { ...poolCreated, data: { ...poolCreated.data, defaultQuota: 100 } };
    pools
      .given([quota, allocated('s1', '192.168.81.0/26')])
      .when(allocate('s2'))
      .thenThrows('IPAM.SubnetPoolQuotaExceeded');
    // The quota counts per project.
    expect(
      pools
        .given([quota, allocated('s1', '192.168.81.0/26', 'project-b')])
        .when(allocate('s2'))
        .events(),
    ).toHaveLength(1);
  });

  it('compacts added prefixes and refuses to remove ones in use', () => {
    pools
      .given([poolCreated])
      .when({ type: 'AddPrefixes', id: 'pool', prefixes: ['192.168.80.0/24'] })
      .then([{ type: 'SubnetPoolPrefixesChanged', data: { prefixes: ['192.168.80.0/23'] } }]);
    pools
      .given([poolCreated, allocated('s1', '192.168.81.0/26')])
      .when({ type: 'RemovePrefixes', id: 'pool', prefixes: ['192.168.81.0/25'] })
      .thenThrows('IPAM.BadRequest', /in use/);
    pools
      .given([poolCreated])
      .when({ type: 'RemovePrefixes', id: 'pool', prefixes: ['192.168.81.128/25'] })
      .then([{ type: 'SubnetPoolPrefixesChanged', data: { prefixes: ['192.168.81.0/25'] } }]);
  });

  it('validates prefix bounds at creation', () => {
    pools
      .given([])
      .when({ type: 'CreateSubnetPool', id: 'pool', projectId: 'p', prefixes: ['10.0.0.0/8'], attributes: { ...attributes, defaultPrefixLength: 33 } })
      .thenThrows('IPAM.BadRequest', /default_prefixlen/);
    pools
      .given([])
      .when({ type: 'CreateSubnetPool', id: 'pool', projectId: 'p', prefixes: ['10.0.0.0/8', '2001:db8::/32'], attributes })
      .thenThrows('IPAM.InvalidInput', /must all be IPv4/);
  });

  it('refuses to delete a pool with allocations', () => {
    pools
      .given([poolCreated, allocated('s1', '192.168.81.0/26')])
      .when({ type: 'DeleteSubnetPool', id: 'pool' })
      .thenThrows('IPAM.SubnetPoolInUse');
  });
});

describe('address scope decider', () => {
  const scopes = deciderSpec(addressScopeDecider);
  const created = { type: 'AddressScopeCreated' as const, data: { projectId: 'project-a', name: 'test-no-nat', ipVersion: 4 as const, shared: true } };
  const claimed = { type: 'AddressScopePrefixesClaimed' as const, data: { subnetPoolId: 'pool-1', prefixes: ['192.168.81.0/24'] } };

  it('keeps the pools of a scope disjoint', () => {
    scopes
      .given([created, claimed])
      .when({ type: 'ClaimPrefixes', id: 'scope', subnetPoolId: 'pool-2', ipVersion: 4, prefixes: ['192.168.81.128/25'] })
      .thenThrows('IPAM.InvalidInput', /overlaps 192.168.81.0\/24 of subnetpool pool-1/);
    scopes
      .given([created, claimed])
      .when({ type: 'ClaimPrefixes', id: 'scope', subnetPoolId: 'pool-2', ipVersion: 4, prefixes: ['192.168.82.0/24'] })
      .then([{ type: 'AddressScopePrefixesClaimed', data: { subnetPoolId: 'pool-2', prefixes: ['192.168.82.0/24'] } }]);
    // Claiming again what the pool holds changes nothing.
    scopes
      .given([created, claimed])
      .when({ type: 'ClaimPrefixes', id: 'scope', subnetPoolId: 'pool-1', ipVersion: 4, prefixes: ['192.168.81.0/24'] })
      .then([]);
  });

  it('refuses pools of the other family and deletion while pools use it', () => {
    scopes
      .given([created])
      .when({ type: 'ClaimPrefixes', id: 'scope', subnetPoolId: 'p6', ipVersion: 6, prefixes: ['2001:db8::/32'] })
      .thenThrows('IPAM.InvalidInput', /ip_version is not 4/);
    scopes.given([created, claimed]).when({ type: 'DeleteAddressScope', id: 'scope' }).thenThrows('IPAM.AddressScopeInUse');
  });

  it('lets other projects use a shared scope but not change it', () => {
    expect(
      scopes
        .given([created])
        .when({ type: 'ClaimPrefixes', id: 'scope', subnetPoolId: 'p', ipVersion: 4, prefixes: ['10.0.0.0/8'] }, { projectId: 'project-b' })
        .events(),
    ).toHaveLength(1);
    // seen (it is shared) but not theirs: Neutron's 403, not a 404
    scopes
      .given([created])
      .when({ type: 'DeleteAddressScope', id: 'scope' }, { projectId: 'project-b' })
      .thenThrows('IPAM.PolicyNotAuthorized', /rule:delete_address_scope/);
  });
});

describe('registry decider', () => {
  const registry = deciderSpec(registryDecider);
  const reserve = (networkId: string, request = {}) => ({ type: 'ReserveSegment' as const, networkId, request, policy: segmentPolicy });
  const reserved = (networkId: string, id: number) => ({
    type: 'SegmentReserved' as const,
    data: { networkId, segment: { networkType: 'vxlan' as const, physicalNetwork: null, segmentationId: id } },
  });

  it('allocates VNIs from the configured range, lowest free first, and reports exhaustion', () => {
    registry
      .given([])
      .when(reserve('n1'))
      .then([reserved('n1', 100)]);
    registry
      .given([reserved('n1', 100), reserved('n3', 102)])
      .when(reserve('n2'))
      .then([reserved('n2', 101)]);
    registry
      .given([reserved('a', 100), reserved('b', 101), reserved('c', 102)])
      .when(reserve('n'))
      .thenThrows('IPAM.NoNetworkAvailable');
    registry
      .given([reserved('a', 100)])
      .when(reserve('n', { networkType: 'vxlan', segmentationId: 100 }))
      .thenThrows('IPAM.TunnelIdInUse');
  });

  it('maps flat and VLAN networks onto known physical networks', () => {
    registry
      .given([])
      .when(reserve('n', { networkType: 'flat' }))
      .thenThrows('IPAM.InvalidInput', /requires physical_network/);
    registry
      .given([])
      .when(reserve('n', { networkType: 'flat', physicalNetwork: 'nope' }))
      .thenThrows('IPAM.InvalidInput', /unknown/);
    const flat = {
      type: 'SegmentReserved' as const,
      data: { networkId: 'f', segment: { networkType: 'flat' as const, physicalNetwork: 'extnet0', segmentationId: null } },
    };
    registry
      .given([flat])
      .when(reserve('n', { networkType: 'flat', physicalNetwork: 'extnet0' }))
      .thenThrows('IPAM.FlatNetworkInUse');
    registry
      .given([])
      .when(reserve('n', { networkType: 'vlan' }))
      .then([{ type: 'SegmentReserved', data: { networkId: 'n', segment: { networkType: 'vlan', physicalNetwork: 'physnet1', segmentationId: 10 } } }]);
  });

  it('keeps one default subnet pool per IP family', () => {
    const claimed = { type: 'DefaultSubnetPoolClaimed' as const, data: { ipVersion: 4 as const, subnetPoolId: 'p1' } };
    registry
      .given([claimed])
      .when({ type: 'ClaimDefaultSubnetPool', ipVersion: 4, subnetPoolId: 'p2' })
      .thenThrows('IPAM.InvalidInput', /Only one default/);
    registry
      .given([claimed])
      .when({ type: 'ClaimDefaultSubnetPool', ipVersion: 6, subnetPoolId: 'p2' })
      .then([{ type: 'DefaultSubnetPoolClaimed', data: { ipVersion: 6, subnetPoolId: 'p2' } }]);
  });
});
