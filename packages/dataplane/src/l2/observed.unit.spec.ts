import { describe, expect, it } from 'vitest';
import { parseFdbJson, parseIpLinkJson, parseNetnsJson } from './observed.js';

// Trimmed from real iproute2 6.1 output (`ip -j -d link show`, `bridge -j fdb show dev vx-..`).
const LINKS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK'], mtu: 65536, operstate: 'DOWN', address: '00:00:00:00:00:00' },
  {
    ifindex: 2,
    ifname: 'br-test',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1450,
    operstate: 'UP',
    address: 'd2:e1:e8:d6:78:18',
    linkinfo: { info_kind: 'bridge', info_data: { stp_state: 0, vlan_filtering: 0 } },
    ifalias: 'ncp:net:abc',
  },
  {
    ifindex: 3,
    ifname: 'vx-test',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1450,
    master: 'br-test',
    operstate: 'UNKNOWN',
    address: 'D2:E1:E8:D6:78:18',
    linkinfo: {
      info_kind: 'vxlan',
      info_data: { id: 100, local: '10.0.0.1', port_range: { low: 0, high: 0 }, port: 4789, learning: false, ttl: 0, ageing: 300 },
      info_slave_kind: 'bridge',
    },
  },
  {
    ifindex: 4,
    ifname: 'vx6',
    flags: ['BROADCAST', 'MULTICAST'],
    mtu: 1500,
    operstate: 'DOWN',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 101, local6: '2001:db8::1', port: 4789, learning: false } },
  },
  {
    ifindex: 7,
    link_index: 3,
    ifname: 'tapabc',
    flags: ['BROADCAST', 'MULTICAST'],
    mtu: 1400,
    operstate: 'DOWN',
    address: '3a:f2:b5:c2:50:1f',
    link_netnsid: 0,
    linkinfo: { info_kind: 'veth' },
    ifalias: 'ncp:port:p1',
  },
  {
    ifindex: 9,
    ifname: 'vl-test',
    link: 'eth2',
    flags: ['BROADCAST', 'MULTICAST', 'UP'],
    mtu: 1500,
    linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 42, flags: ['REORDER_HDR'] } },
  },
]);

describe('parseIpLinkJson', () => {
  it('keeps what the planner compares', () => {
    const links = parseIpLinkJson(LINKS);
    expect(links.map((l) => [l.name, l.kind, l.up, l.alias, l.master])).toEqual([
      ['lo', null, false, null, null],
      ['br-test', 'bridge', true, 'ncp:net:abc', null],
      ['vx-test', 'vxlan', true, null, 'br-test'],
      ['vx6', 'vxlan', false, null, null],
      ['tapabc', 'veth', false, 'ncp:port:p1', null],
      ['vl-test', 'vlan', true, null, null],
    ]);
    expect(links[2]?.vxlan).toEqual({ vni: 100, local: '10.0.0.1', port: 4789, learning: false });
    expect(links[2]?.address).toBe('d2:e1:e8:d6:78:18');
    expect(links[3]?.vxlan?.local).toBe('2001:db8::1');
    expect(links[5]).toMatchObject({ parent: 'eth2', vlanId: 42 });
  });

  it('refuses output that is not what ip prints', () => {
    expect(() => parseIpLinkJson('not json')).toThrow(/not JSON/);
    expect(() => parseIpLinkJson('[{"name":"x"}]')).toThrow(/unexpected JSON/);
    expect(parseIpLinkJson('')).toEqual([]);
  });
});

describe('parseFdbJson', () => {
  it('keeps the device entries with a remote, not the bridge ones', () => {
    const text = JSON.stringify([
      { mac: 'd2:e1:e8:d6:78:18', flags: [], master: 'br-test', state: 'permanent' },
      { mac: 'fa:16:3e:00:00:01', dst: '10.0.0.3', flags: ['self'], state: 'permanent' },
      { mac: '00:00:00:00:00:00', dst: '10.0.0.2', flags: ['self'], state: 'permanent' },
      { mac: '52:54:00:aa:bb:cc', master: 'br-test', state: '' },
    ]);
    expect(parseFdbJson(text)).toEqual([
      { mac: 'fa:16:3e:00:00:01', dst: '10.0.0.3' },
      { mac: '00:00:00:00:00:00', dst: '10.0.0.2' },
    ]);
  });
});

describe('parseNetnsJson', () => {
  it('reads names', () => {
    expect(parseNetnsJson('[{"name":"zz-exp1"},{"name":"zz-exp2","id":0}]')).toEqual(['zz-exp1', 'zz-exp2']);
    expect(parseNetnsJson('[]')).toEqual([]);
  });
});
