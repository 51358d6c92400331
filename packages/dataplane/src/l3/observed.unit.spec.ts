import { describe, expect, it } from 'vitest';
import { parseIpAddrJson, parseIpRouteJson, parseNftTableText, parseNftTablesJson, parseSysctlValues } from './observed.js';

// Trimmed from real iproute2 6.1 / nftables 1.0.6 output in a router namespace.
const ADDRS = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    mtu: 65536,
    operstate: 'UNKNOWN',
    addr_info: [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo', valid_life_time: 4294967295 },
      { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host', valid_life_time: 4294967295 },
    ],
  },
  {
    ifindex: 2,
    link_index: 2,
    ifname: 'qg-abc',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    operstate: 'UP',
    address: '82:d8:85:04:7c:da',
    link_netnsid: 0,
    addr_info: [
      { family: 'inet', local: '10.0.2.211', prefixlen: 24, scope: 'global', label: 'qg-abc' },
      { family: 'inet6', local: '2001:DB8:0:1:0:0:0:1', prefixlen: 64, scope: 'global', tentative: true },
      {
        family: 'inet6',
        local: 'fe80::a9fe:a9fe',
        prefixlen: 64,
        scope: 'link',
        nodad: true,
        deprecated: true,
        valid_life_time: 4294967295,
        preferred_life_time: 0,
      },
      { family: 'inet6', local: 'fe80::80d8:85ff:fe04:7cda', prefixlen: 64, scope: 'link' },
    ],
  },
  {
    ifindex: 3,
    ifname: 'qr-x',
    flags: ['BROADCAST', 'MULTICAST'],
    mtu: 1500,
    operstate: 'DOWN',
    addr_info: [{ family: 'inet6', local: 'fd00::1', prefixlen: 64, scope: 'global', dadfailed: true, tentative: true }],
  },
]);

const ROUTES4 =
  '[{"dst":"default","gateway":"10.0.2.2","dev":"qg-abc","protocol":"190","flags":[]},' +
  '{"dst":"10.0.2.0/24","dev":"qg-abc","protocol":"2","scope":"253","prefsrc":"10.0.2.211","flags":[]},' +
  '{"dst":"10.0.2.9","gateway":"10.0.2.3","dev":"qg-abc","protocol":"4","flags":[]},' +
  '{"type":"blackhole","dst":"10.66.0.0/16","protocol":"190","flags":[]},' +
  '{"dst":"10.50.0.0/16","protocol":"190","flags":[],"nexthops":[{"gateway":"10.0.2.3","dev":"qg-abc","weight":1,"flags":[]},{"gateway":"10.0.2.2","dev":"qg-abc","weight":1,"flags":[]}]}]';

const ROUTES6 =
  '[{"dst":"2001:db8:0:1::/64","dev":"qg-abc","protocol":"2","metric":256,"flags":[],"pref":"medium"},' +
  '{"dst":"2001:db8:0:2::/64","gateway":"2001:db8:0:1::2","dev":"qg-abc","protocol":"190","metric":1024,"flags":[],"pref":"medium"},' +
  '{"dst":"default","protocol":"190","metric":1024,"flags":[],"pref":"medium","nexthops":[{"gateway":"2001:db8:0:1::2","dev":"qg-abc","weight":1,"flags":[]},{"gateway":"fe80::1","dev":"qg-abc","weight":1,"flags":[]}]}]';

// `nft list table inet ncp_router` prints an empty line between chains.
const TABLE = `table inet ncp_router {
	comment "ncp:sha256:abc"
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 10.0.2.215 dnat ip to 172.16.100.10
	}

	chain output {
		type nat hook output priority -100; policy accept;
		ip daddr 10.0.2.215 dnat ip to 172.16.100.10
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 172.16.100.10 oifname "qg-abc" snat ip to 10.0.2.215
		ip saddr 172.16.100.0/24 ip daddr != { 10.9.0.0/16, 192.168.0.0/24 } oifname "qg-abc" snat ip to 10.0.2.211
	}
}
`;

describe('parseIpAddrJson', () => {
  it("keeps links, admin state and canonical addresses with their scope and state, in the kernel's order", () => {
    expect(parseIpAddrJson(ADDRS)).toEqual([
      {
        name: 'lo',
        up: true,
        addresses: [
          { family: 4, cidr: '127.0.0.1/8', scope: 'host', dadFailed: false, deprecated: false },
          { family: 6, cidr: '::1/128', scope: 'host', dadFailed: false, deprecated: false },
        ],
      },
      {
        name: 'qg-abc',
        up: true,
        addresses: [
          { family: 4, cidr: '10.0.2.211/24', scope: 'global', dadFailed: false, deprecated: false },
          { family: 6, cidr: '2001:db8:0:1::1/64', scope: 'global', dadFailed: false, deprecated: false },
          { family: 6, cidr: 'fe80::a9fe:a9fe/64', scope: 'link', dadFailed: false, deprecated: true },
          { family: 6, cidr: 'fe80::80d8:85ff:fe04:7cda/64', scope: 'link', dadFailed: false, deprecated: false },
        ],
      },
      { name: 'qr-x', up: false, addresses: [{ family: 6, cidr: 'fd00::1/64', scope: 'global', dadFailed: true, deprecated: false }] },
    ]);
  });

  it('treats empty output as no links and refuses garbage', () => {
    expect(parseIpAddrJson('')).toEqual([]);
    expect(() => parseIpAddrJson('Cannot open')).toThrow(/not JSON/);
  });
});

describe('parseIpRouteJson', () => {
  it('reads IPv4 routes: default, host routes, types and ECMP nexthops', () => {
    expect(parseIpRouteJson(ROUTES4, 4)).toEqual([
      { family: 4, destination: '0.0.0.0/0', nexthops: ['10.0.2.2'], protocol: '190', metric: null, type: 'unicast' },
      { family: 4, destination: '10.0.2.0/24', nexthops: [], protocol: '2', metric: null, type: 'unicast' },
      { family: 4, destination: '10.0.2.9/32', nexthops: ['10.0.2.3'], protocol: '4', metric: null, type: 'unicast' },
      { family: 4, destination: '10.66.0.0/16', nexthops: [], protocol: '190', metric: null, type: 'blackhole' },
      { family: 4, destination: '10.50.0.0/16', nexthops: ['10.0.2.2', '10.0.2.3'], protocol: '190', metric: null, type: 'unicast' },
    ]);
  });

  it('reads IPv6 routes with their metric', () => {
    expect(parseIpRouteJson(ROUTES6, 6)).toEqual([
      { family: 6, destination: '2001:db8:0:1::/64', nexthops: [], protocol: '2', metric: 256, type: 'unicast' },
      { family: 6, destination: '2001:db8:0:2::/64', nexthops: ['2001:db8:0:1::2'], protocol: '190', metric: 1024, type: 'unicast' },
      { family: 6, destination: '::/0', nexthops: ['2001:db8:0:1::2', 'fe80::1'], protocol: '190', metric: 1024, type: 'unicast' },
    ]);
  });
});

describe('parseSysctlValues', () => {
  it('maps the values to the keys in order', () => {
    expect(parseSysctlValues('1\n0\n', ['a.b', 'c.d'])).toEqual({ 'a.b': '1', 'c.d': '0' });
    expect(() => parseSysctlValues('1\n', ['a.b', 'c.d'])).toThrow(/expected 2 values/);
  });
});

describe('nft output', () => {
  it('lists tables from JSON', () => {
    const json =
      '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "ncp_router", "handle": 2}}]}';
    expect(parseNftTablesJson(json)).toEqual(['inet ncp_router']);
    expect(parseNftTablesJson('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}')).toEqual([]);
  });

  it('reads the comment, the rules per chain and the floating IP mappings of our table', () => {
    expect(parseNftTableText(TABLE)).toEqual({
      comment: 'ncp:sha256:abc',
      rules: { prerouting: 1, output: 1, postrouting: 2 },
      dnat: { '10.0.2.215': '172.16.100.10' },
    });
    expect(parseNftTableText('table inet ncp_router {\n}\n')).toEqual({ comment: null, rules: {}, dnat: {} });
  });
});
