import { type L2HostIntent, type L2NetworkIntent, type L2PortIntent } from '@ncp/contracts';
import { type L2HostConfig } from '../model.js';
import { type ObservedL2, type ObservedLink } from '../observed.js';

export const N1 = '1a2b3c4d-0000-4000-8000-000000000001';
export const N2 = '2b3c4d5e-0000-4000-8000-000000000002';
export const N3 = '3c4d5e6f-0000-4000-8000-000000000003';
export const N4 = '4d5e6f70-0000-4000-8000-000000000004';
export const P1 = 'aaaa1111-0000-4000-8000-0000000000a1';
export const P2 = 'bbbb2222-0000-4000-8000-0000000000b2';
export const P3 = 'cccc3333-0000-4000-8000-0000000000c3';

export const config: L2HostConfig = {
  netns: 'host-a',
  tunnelIp: '10.0.0.1',
  physnets: { extnet0: 'eth1', physnet1: 'eth2' },
};

export const vxlanNet1: L2NetworkIntent = {
  id: N1,
  mtu: 1450,
  segment: { networkType: 'vxlan', segmentationId: 1001, physicalNetwork: null },
  floodList: ['10.0.0.3', '10.0.0.2'],
  remoteMacs: [
    { mac: 'FA:16:3E:00:02:01', tunnelIp: '10.0.0.2' },
    { mac: 'fa:16:3e:00:03:01', tunnelIp: '10.0.0.3' },
  ],
};

export const vxlanNet2: L2NetworkIntent = {
  id: N2,
  mtu: 1450,
  segment: { networkType: 'vxlan', segmentationId: 1002, physicalNetwork: null },
  floodList: ['10.0.0.3'],
  remoteMacs: [],
};

export const flatNet: L2NetworkIntent = {
  id: N3,
  mtu: 1500,
  segment: { networkType: 'flat', segmentationId: null, physicalNetwork: 'extnet0' },
  floodList: [],
  remoteMacs: [],
};

export const vlanNet: L2NetworkIntent = {
  id: N4,
  mtu: 1500,
  segment: { networkType: 'vlan', segmentationId: 101, physicalNetwork: 'physnet1' },
  floodList: [],
  remoteMacs: [],
};

/** A port, up, plugged into workload namespace `netns` as `ifname`. */
export function l2Port(id: string, networkId: string, mac: string, netns: string, ifname = 'eth0'): L2PortIntent {
  return { id, networkId, mac, adminStateUp: true, workload: { netns, ifname } };
}

export const port1 = l2Port(P1, N1, 'fa:16:3e:00:01:01', 'wl-vm1');
export const port2 = l2Port(P2, N3, 'fa:16:3e:00:01:02', 'wl-vm2');
export const port3: L2PortIntent = { ...l2Port(P3, N4, 'fa:16:3e:00:01:03', 'wl-vm2', 'eth1'), adminStateUp: false };

/** Two vxlan networks, one flat, one vlan, three ports. */
export const fixtureIntent: L2HostIntent = {
  networks: [vxlanNet1, vxlanNet2, flatNet, vlanNet],
  ports: [port1, port2, port3],
};

/** A copy of `intent` whose entries are frozen, as the agent's are: L2 spares a settled port by the very objects it looked at. */
export function frozenIntent(intent: L2HostIntent): L2HostIntent {
  return { networks: intent.networks.map((n) => Object.freeze({ ...n })), ports: intent.ports.map((p) => Object.freeze({ ...p })) };
}

export function plainLink(name: string, extra: Partial<ObservedLink> = {}): ObservedLink {
  return { name, alias: null, kind: null, master: null, parent: null, mtu: 1500, up: true, address: null, vxlan: null, vlanId: null, ...extra };
}

/** A host with only its own interfaces: loopback and the two physnet NICs. */
export const emptyHost: ObservedL2 = {
  hostLinks: [plainLink('lo', { mtu: 65536 }), plainLink('eth1'), plainLink('eth2')],
  fdb: {},
  netns: [],
  workloadLinks: {},
};
