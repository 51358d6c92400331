import { describe, expect, it } from 'vitest';
import { type SgHostIntent, type SgPortIntent, type SgRuleIntent } from '@ncp/contracts';
import { assignZones, disjointAddresses, hostsAndNets, profileChain, renderFilterTable, renderSecurityGroups, renderSpoofTable } from './render';

const NET = '5e000000-0000-4000-8000-0000000000aa';
const G = '5e000000-0000-4000-8000-00000000000a';
const R = '5e000000-0000-4000-8000-00000000000b';
const P = '5e000001-0000-4000-8000-000000000001';
const any = { protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null };
const rule = (over: Partial<SgRuleIntent>): SgRuleIntent => ({ direction: 'ingress', ethertype: 'IPv4', ...any, ...over });

const host = (over: Partial<SgHostIntent['ports'][number]> = {}, rules: SgRuleIntent[] = [], stateful = true): SgHostIntent => ({
  ports: [
    {
      id: P,
      networkId: NET,
      mac: 'FA:16:3E:00:00:01',
      fixedIps: ['10.0.0.5', '2001:db8::5'],
      allowedAddressPairs: [],
      portSecurityEnabled: true,
      securityGroupIds: [G],
      ...over,
    },
  ],
  groups: [{ id: G, stateful, rules }],
  members: [{ groupId: R, addresses: ['10.0.0.7', '10.1.0.0/24', '2001:db8::7'] }],
});
const zones = new Map([[NET, 3]]);
const lines = (text: string) => text.split('\n').map((l) => l.trim());

describe('security group rules as nftables', () => {
  it.each<[string, SgRuleIntent, string]>([
    ['any IPv4 from anywhere', rule({}), 'meta nfproto ipv4 accept'],
    [
      'TCP 22 from a prefix',
      rule({ protocol: 6, portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '192.0.2.0/24' }),
      'meta nfproto ipv4 ip saddr 192.0.2.0/24 meta l4proto 6 th dport 22 accept',
    ],
    [
      'a UDP range to a prefix',
      rule({ direction: 'egress', protocol: 17, portRangeMin: 1000, portRangeMax: 2000, remoteIpPrefix: '198.51.100.0/24' }),
      'meta nfproto ipv4 ip daddr 198.51.100.0/24 meta l4proto 17 th dport 1000-2000 accept',
    ],
    ['ICMP echo request', rule({ protocol: 1, portRangeMin: 8 }), 'meta nfproto ipv4 meta l4proto 1 icmp type 8 accept'],
    [
      'ICMPv6 type and code',
      rule({ ethertype: 'IPv6', protocol: 58, portRangeMin: 128, portRangeMax: 0 }),
      'meta nfproto ipv6 meta l4proto 58 icmpv6 type 128 icmpv6 code 0 accept',
    ],
    ['GRE from a remote group', rule({ protocol: 47, remoteGroupId: R }), `meta nfproto ipv4 ip saddr @m_${R.replace(/-/g, '')}_4 meta l4proto 47 accept`],
    ['IPv6 from a remote group', rule({ ethertype: 'IPv6', remoteGroupId: R }), `meta nfproto ipv6 ip6 saddr @m_${R.replace(/-/g, '')}_6 accept`],
  ])('%s', (_name, r, expected) => {
    expect(lines(renderFilterTable(host({}, [r]), zones))).toContain(expected);
  });

  it("puts a remote group's host addresses in a plain set per family, its CIDRs in an interval set, and matches either", () => {
    const text = renderFilterTable(host({}, [rule({ remoteGroupId: R })]), zones);
    const m = `m_${R.replace(/-/g, '')}`;
    expect(text).toContain(`set ${m}_4 {\n    type ipv4_addr; elements = { 10.0.0.7 };`);
    expect(text).toContain(`set ${m}_4n {\n    type ipv4_addr; flags interval; elements = { 10.1.0.0/24 };`);
    expect(text).toContain(`set ${m}_6 {\n    type ipv6_addr; elements = { 2001:db8::7 };`);
    expect(text).toContain(`set ${m}_6n {\n    type ipv6_addr; flags interval;\n  }`);
    expect(lines(text)).toEqual(expect.arrayContaining([`meta nfproto ipv4 ip saddr @${m}_4 accept`, `meta nfproto ipv4 ip saddr @${m}_4n accept`]));
  });

  it('tracks connections for a stateful port and not for a port whose groups are all stateless', () => {
    expect(lines(renderFilterTable(host({}, [], true), zones))).toContain('ct state established,related accept');
    expect(lines(renderFilterTable(host({}, [], false), zones))).not.toContain('ct state established,related accept');
  });

  it("dispatches a port by its bridge and MACs (its address pairs' too) to its groups' profile, and gives its network its zone", () => {
    const text = renderFilterTable(host({ allowedAddressPairs: [{ ipAddress: '10.0.0.100', macAddress: 'fa:16:3e:00:00:99' }] }), zones);
    const out = profileChain([G], 'egress');
    expect(text).toContain(`"br-5e000000" . fa:16:3e:00:00:01 : jump ${out}, "br-5e000000" . fa:16:3e:00:00:99 : jump ${out}`);
    expect(text).toContain('"br-5e000000" : 3');
  });

  it('gives ports with the same groups, in any order, one profile, and its chain a jump to each group', () => {
    const other = '5e000000-0000-4000-8000-00000000000c';
    const [first] = host({ securityGroupIds: [G, other] }).ports as [SgPortIntent];
    const second: SgPortIntent = { ...first, id: '5e000002-0000-4000-8000-000000000002', mac: 'fa:16:3e:00:00:02', securityGroupIds: [other, G, G] };
    const two: SgHostIntent = { ...host(), ports: [first, second] };
    const text = renderFilterTable(two, zones);
    expect(text.match(/^ {2}chain pr_[0-9a-f]+_in \{/gm)).toEqual([`  chain ${profileChain([G, other].sort(), 'ingress')} {`]);
    expect(text).toContain(`jump g_${G.replace(/-/g, '')}_in\n    jump g_${other.replace(/-/g, '')}_in\n    drop`);
  });

  it('lets a port in a group without rules still be a DHCP, DHCPv6 and neighbour discovery client, before its drop', () => {
    const text = renderFilterTable(host({}, []), zones);
    const chain = (name: string) => {
      const start = text.indexOf(`chain ${name} {`);
      expect(start).toBeGreaterThan(0);
      return lines(text.slice(start, text.indexOf('\n  }', start)));
    };
    const portIn = chain(profileChain([G], 'ingress'));
    expect(portIn.indexOf('jump every_port_in')).toBeGreaterThan(0);
    expect(portIn.indexOf('jump every_port_in')).toBeLessThan(portIn.indexOf('drop'));
    expect(chain('every_port_in')).toContain('meta nfproto ipv4 udp sport 67 udp dport 68 accept');
    expect(chain('every_port_in')).toContain('meta nfproto ipv6 udp sport 547 udp dport 546 accept');
    expect(chain('every_port_in').some((l) => l.startsWith('icmpv6 type { nd-router-advert,'))).toBe(true);
    expect(chain('every_port_out')).toContain('meta nfproto ipv4 udp sport 68 udp dport 67 accept');
  });

  it('carries no anonymous set in a profile chain (each would cost the kernel a scan of the whole transaction)', () => {
    const text = renderFilterTable(host({}, [rule({ remoteGroupId: R })]), zones);
    const start = text.indexOf(`chain ${profileChain([G], 'ingress')} {`);
    expect(text.slice(start, text.indexOf('\n  }', start))).not.toContain('{ ');
  });

  it('leaves a port without port security out of both tables', () => {
    const text = renderSecurityGroups(host({ portSecurityEnabled: false }), zones);
    expect(text).not.toContain(P.replace(/-/g, ''));
    expect(text).not.toContain('tap5e000001000');
  });
});

describe('anti-spoofing and first-hop security as nftables', () => {
  const TAP = '"tap5e000001000"';
  const spoof = (over: Partial<SgHostIntent['ports'][number]> = {}) => renderSpoofTable(host(over));
  const elementsOf = (text: string, set: string) => {
    const start = text.indexOf(`set ${set} {`);
    expect(start).toBeGreaterThan(0);
    const body = text.slice(start, text.indexOf('\n  }', start));
    return /elements = \{ (.*) \};/.exec(body)?.[1]?.split(', ') ?? [];
  };
  const pair = spoof({ allowedAddressPairs: [{ ipAddress: '10.0.0.100', macAddress: 'fa:16:3e:00:00:01' }] });

  it('lets a port send only from its MAC and its addresses, its EUI-64 link-local and address pairs included', () => {
    expect(lines(pair)).toContain('iifname . ether saddr != @macs drop');
    expect(elementsOf(pair, 'macs')).toEqual([`${TAP} . fa:16:3e:00:00:01`]);
    expect(lines(pair)).toContain('ether type ip iifname . ip saddr != @src4 iifname . ip saddr != @src4net drop');
    expect(elementsOf(pair, 'src4')).toEqual([`${TAP} . 10.0.0.100`, `${TAP} . 10.0.0.5`]);
    expect(lines(pair)).toContain('ether type ip6 iifname . ip6 saddr != @src6 iifname . ip6 saddr != @src6net drop');
    expect(elementsOf(pair, 'src6')).toEqual([`${TAP} . 2001:db8::5`, `${TAP} . fe80::f816:3eff:fe00:1`]);
    expect(lines(pair)).toContain('ether type arp iifname . arp saddr ip != @arp4 iifname . arp saddr ip != @arp4net drop');
    expect(elementsOf(pair, 'arp4')).toEqual([`${TAP} . 0.0.0.0`, `${TAP} . 10.0.0.100`, `${TAP} . 10.0.0.5`]);
    expect(elementsOf(pair, 'src4net')).toEqual([]);
  });

  it('leaves a port without IPv4 addresses no IPv4 source at all, and puts a pair CIDR in the interval sets', () => {
    expect(elementsOf(spoof({ fixedIps: ['2001:db8::5'] }), 'src4')).toEqual([]);
    const covered = spoof({ allowedAddressPairs: [{ ipAddress: '10.0.0.0/24', macAddress: 'fa:16:3e:00:00:01' }] });
    expect(elementsOf(covered, 'src4')).toEqual([`${TAP} . 10.0.0.5`]);
    expect(elementsOf(covered, 'src4net')).toEqual([`${TAP} . 10.0.0.0/24`]);
    expect(elementsOf(covered, 'arp4')).toEqual([`${TAP} . 0.0.0.0`, `${TAP} . 10.0.0.5`]);
    expect(elementsOf(covered, 'arp4net')).toEqual([`${TAP} . 10.0.0.0/24`]);
  });

  it('refuses router advertisements and DHCP/DHCPv6 server replies, and lets DHCP and DAD through as a client', () => {
    const rules = lines(pair);
    expect(rules).toContain('ether type ip6 icmpv6 type nd-router-advert drop');
    expect(rules).toContain('ether type ip udp sport 67 drop');
    expect(rules).toContain('ether type ip6 udp sport 547 drop');
    expect(rules).toContain('ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept');
    expect(rules).toContain('ether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, mld2-listener-report } accept');
  });

  it('answers neighbour solicitations only for its own addresses, any address of a CIDR pair', () => {
    expect(lines(pair)).toContain('ether type ip6 icmpv6 type nd-neighbor-advert iifname != @na_any iifname . @th,64,128 != @na6 drop');
    expect(elementsOf(pair, 'na6')).toEqual([`${TAP} . 0x20010db8000000000000000000000005`, `${TAP} . 0xfe80000000000000f8163efffe000001`]);
    expect(elementsOf(pair, 'na_any')).toEqual([]);
    const cidr = spoof({ allowedAddressPairs: [{ ipAddress: '2001:db8:1::/64', macAddress: 'fa:16:3e:00:00:01' }] });
    expect(elementsOf(cidr, 'na_any')).toEqual([TAP]);
    expect(elementsOf(cidr, 'na6')).toEqual([]);
  });

  it('checks each filtered port from its tap', () => {
    expect(lines(pair)).toContain('iifname @ports jump port');
    expect(elementsOf(pair, 'ports')).toEqual([TAP]);
  });
});

describe('addresses as interval set elements', () => {
  it('keeps each address once and drops one inside another, of the family asked for', () => {
    expect(disjointAddresses(['10.0.0.7', '10.0.0.0/24', '10.0.0.7', '10.1.0.1', '10.1.0.1/32', '2001:db8::1'], 4)).toEqual(['10.0.0.0/24', '10.1.0.1']);
    expect(disjointAddresses(['2001:db8::1', '2001:DB8::1', '2001:db8::/64', '2001:db9::1'], 6)).toEqual(['2001:db8::/64', '2001:db9::1']);
  });

  it('splits addresses into host addresses, each once whatever its spelling, and prefixes none inside another', () => {
    expect(hostsAndNets(['10.0.0.7', '10.0.0.0/24', '10.0.0.7/32', '10.0.0.128/25', '10.9.0.0/16', '2001:db8::1'], 4)).toEqual({
      hosts: ['10.0.0.7'],
      nets: ['10.0.0.0/24', '10.9.0.0/16'],
    });
    expect(hostsAndNets(['2001:DB8::1', '2001:db8:0::1', '2001:db8::/64', '10.0.0.1'], 6)).toEqual({ hosts: ['2001:db8::1'], nets: ['2001:db8::/64'] });
  });
});

describe('conntrack zones', () => {
  it('keeps the zone a network has and gives a new one the smallest free zone', () => {
    const zonesNow = assignZones(
      ['n-b', 'n-a', 'n-c'],
      new Map([
        ['n-b', 1],
        ['n-gone', 2],
      ]),
    );
    expect([...zonesNow].sort()).toEqual([
      ['n-a', 2],
      ['n-b', 1],
      ['n-c', 3],
    ]);
  });
});
