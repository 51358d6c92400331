import { type MetadataEndpoint, type MetadataProxyIntent } from '@ncp/contracts';

export const STATE = '/var/lib/ncp-test';
export const SOCKET = `${STATE}/metadata/forward.sock`;
export const NODE = '/usr/bin/node';
export const SCRIPT = '/opt/ncp/dataplane/dist/metadata/proxy-main.js';
export const ROUTER = 'a1b2c3d4-0000-4000-8000-000000000001';
export const NETWORK = 'bbbb0002-0000-4000-8000-000000000002';
export const NS = 'qrouter-a1b2c3d4';
export const DHCP_NS = 'qdhcp-bbbb0002';
export const QR1 = 'qr-b0000001-00';
export const QR2 = 'qr-b0000002-00';
export const QR3 = 'qr-b0000003-00';

export const vm1: MetadataEndpoint = {
  portId: 'c0000001-0000-4000-8000-000000000001',
  instanceId: 'i-vm1',
  projectId: 'p-one',
  mac: 'fa:16:3e:00:00:01',
  addresses: ['10.0.0.11', '2001:db8:0:1::11'],
};
export const vm2: MetadataEndpoint = {
  portId: 'c0000002-0000-4000-8000-000000000002',
  instanceId: 'i-vm2',
  projectId: 'p-two',
  mac: 'fa:16:3e:00:00:02',
  addresses: ['10.0.1.12'],
};

/** QR3 is listed but not plugged yet. */
export const router1: MetadataProxyIntent = { id: ROUTER, kind: 'router', namespace: NS, interfaces: [QR1, QR2, QR3], endpoints: [vm1, vm2] };
export const dhcp1: MetadataProxyIntent = { id: NETWORK, kind: 'dhcp', namespace: DHCP_NS, interfaces: ['ns-bbbb0002-00'], endpoints: [vm2] };
