import { type IpamEventOf, type NetworkEvent, type Segment } from '@ncp/contracts';
import { factPort, factSubnet } from '@ncp/testing';
import { type MtuPolicy, type PortRequest } from '../network.decider';
import { type SegmentPolicy } from '../registry.decider';
import { type SubnetRequest } from '../subnet-rules';

/** Event and command builders shared by the decider tests. */

export const NET = 'net-1';
export const mtuPolicy: MtuPolicy = { physicalMtu: 1500, vxlanOverhead: 50 };
export const segmentPolicy: SegmentPolicy = {
  tenantNetworkType: 'vxlan',
  vxlanRange: [100, 102],
  vlanRanges: { physnet1: [10, 11] },
  physicalNetworks: ['physnet1', 'extnet0'],
};
export const vxlan = (id: number): Segment => ({ networkType: 'vxlan', physicalNetwork: null, segmentationId: id });

export function networkCreated(overrides: Partial<IpamEventOf<'NetworkCreated'>['data']> = {}): NetworkEvent {
  return {
    type: 'NetworkCreated',
    data: {
      projectId: 'project-a',
      segment: vxlan(100),
      name: 'n',
      description: '',
      adminStateUp: true,
      shared: false,
      external: false,
      mtu: 1450,
      portSecurityEnabled: true,
      ...overrides,
    },
  };
}

export function subnetCreated(subnetId: string, cidr: string, overrides: Partial<IpamEventOf<'SubnetCreated'>['data']> = {}): NetworkEvent {
  return { type: 'SubnetCreated', data: factSubnet(subnetId, cidr, { projectId: 'project-a', ...overrides }) };
}

export function portCreated(portId: string, mac: string, fixedIps: { subnetId: string; ipAddress: string }[], deviceOwner = ''): NetworkEvent {
  return {
    type: 'PortCreated',
    data: factPort(portId, fixedIps, { projectId: 'project-a', macAddress: mac, deviceOwner, deviceId: '', bindingHostId: '' }),
  };
}

export function subnetRequest(cidr: string, overrides: Partial<SubnetRequest> = {}): SubnetRequest {
  return {
    ipVersion: cidr.includes(':') ? 6 : 4,
    cidr,
    gatewayIp: undefined,
    allocationPools: undefined,
    enableDhcp: true,
    dnsNameservers: [],
    hostRoutes: [],
    ipv6RaMode: null,
    ipv6AddressMode: null,
    subnetPoolId: null,
    addressScopeId: null,
    serviceTypes: [],
    name: '',
    description: '',
    ...overrides,
  };
}

export const portRequest: PortRequest = {
  name: '',
  description: '',
  adminStateUp: true,
  deviceOwner: '',
  deviceId: '',
  bindingHostId: '',
  bindingProfile: {},
  bindingVnicType: 'normal',
  allowedAddressPairs: [],
  extraDhcpOpts: [],
};
