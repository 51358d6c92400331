import { describe, expect, it } from 'vitest';
import { type SgGroupIntent, type SgHostIntent, type SgPortIntent, type SgRuleIntent } from '@ncp/contracts';
import { SgRenderCache, profileChain, securityGroupTables, type SgTables } from './render';
import { renderSecurityGroupsUpdate } from './update';

const NET = '5e000000-0000-4000-8000-0000000000aa';
const G = '5e000000-0000-4000-8000-00000000000a';
const R = '5e000000-0000-4000-8000-00000000000b';
const c = (id: string) => id.replace(/-/g, '');
const any = { protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null };
const rule = (over: Partial<SgRuleIntent>): SgRuleIntent => ({ direction: 'ingress', ethertype: 'IPv4', ...any, ...over });
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** The n-th port: its own tap (ids differ in their first characters, as UUIDs do), MAC and address. */
const port = (n: number, over: Partial<SgPortIntent> = {}): SgPortIntent => ({
  id: `${hex(n, 8)}-0000-4000-8000-000000000001`,
  networkId: NET,
  mac: `fa:16:3e:00:${hex(n >> 8, 2)}:${hex(n & 255, 2)}`,
  fixedIps: [`10.0.${n >> 8}.${n & 255}`],
  allowedAddressPairs: [],
  portSecurityEnabled: true,
  securityGroupIds: [G],
  ...over,
});
const group = (rules: SgRuleIntent[], over: Partial<SgGroupIntent> = {}): SgGroupIntent => ({ id: G, stateful: true, rules, ...over });
const sshFromR = rule({ protocol: 6, portRangeMin: 22, portRangeMax: 22, remoteGroupId: R });
const host = (ports: SgPortIntent[], rules: SgRuleIntent[] = [sshFromR], members = ['10.9.0.1']): SgHostIntent => ({
  ports,
  groups: [group(rules)],
  members: [{ groupId: R, addresses: members }],
});
const zones = new Map([[NET, 1]]);
const update = (before: SgHostIntent, after: SgHostIntent) => renderSecurityGroupsUpdate(securityGroupTables(before, zones), securityGroupTables(after, zones));
const ports = (count: number) => Array.from({ length: count }, (_, i) => port(i + 1));

describe('the incremental transaction', () => {
  it("is with a render cache kept over a run of changes what builds without one give (members, zones, profiles, a port's MAC)", () => {
    const other = '5e000000-0000-4000-8000-0000000000bb';
    const steps: { intent: SgHostIntent; zones: Map<string, number> }[] = [
      { intent: host(ports(3), [sshFromR], ['10.9.0.1', '10.9.0.0/24']), zones },
      { intent: host(ports(4), [sshFromR], ['10.9.0.1', '10.9.0.2', '2001:db8::9']), zones },
      { intent: host([...ports(4), port(5, { networkId: other })], [sshFromR], ['10.9.0.2']), zones: new Map([...zones, [other, 2]]) },
      { intent: host([port(1, { securityGroupIds: [G, R] }), port(2, { mac: 'fa:16:3e:00:00:99' })], [sshFromR], ['10.9.0.1', '10.9.0.0/24']), zones },
      { intent: host(ports(3), [sshFromR], ['10.9.0.1', '10.9.0.0/24']), zones },
    ];
    const cache = new SgRenderCache();
    let cached: SgTables | undefined;
    let before: (typeof steps)[number] | undefined;
    for (const step of steps) {
      const next = securityGroupTables(step.intent, step.zones, cache);
      if (cached !== undefined && before !== undefined) {
        const fresh = renderSecurityGroupsUpdate(securityGroupTables(before.intent, before.zones), securityGroupTables(step.intent, step.zones));
        expect(renderSecurityGroupsUpdate(cached, next)).toBe(fresh);
        expect(fresh).not.toBe('');
      }
      cached = next;
      before = step;
    }
  });

  it("keeps a frozen port's piece from build to build while the object lives, and renders an equal port's again", () => {
    const deepFrozen = (p: SgPortIntent): SgPortIntent => Object.freeze({ ...p, fixedIps: Object.freeze([...p.fixedIps]) }) as SgPortIntent;
    const [one, two] = [deepFrozen(port(1)), deepFrozen(port(2))];
    const cache = new SgRenderCache();
    const before = securityGroupTables(host([one, two]), zones, cache);
    const moved = deepFrozen(port(2, { mac: 'fa:16:3e:00:00:99' }));
    const after = securityGroupTables(host([one, moved]), zones, cache);
    expect(after.get(`port ${one.id}`)).toBe(before.get(`port ${one.id}`));
    expect(renderSecurityGroupsUpdate(before, after)).toBe(update(host([port(1), port(2)]), host([port(1), port(2, { mac: 'fa:16:3e:00:00:99' })])));
    // an equal object that can change is rendered again: nothing says it did not
    const open = port(1);
    const again = securityGroupTables(host([open, moved]), zones, cache);
    expect(again.get(`port ${one.id}`)).toEqual(before.get(`port ${one.id}`));
    open.fixedIps = ['10.0.0.77'];
    expect(JSON.stringify(securityGroupTables(host([open, moved]), zones, cache).get(`port ${one.id}`))).toContain('10.0.0.77');
  });

  it("renders and diffs one piece of a remote group's thousands of members when one joins", () => {
    const many = Array.from({ length: 2000 }, (_, i) => `10.9.${i >> 8}.${i & 255}`);
    const cache = new SgRenderCache();
    const before = securityGroupTables(host(ports(3), [sshFromR], many), zones, cache);
    const after = securityGroupTables(host(ports(3), [sshFromR], [...many, '10.9.200.1']), zones, cache);
    const changed = [...after].filter(([id, piece]) => before.get(id) !== piece).map(([id]) => id);
    expect(changed).toEqual([expect.stringMatching(new RegExp(`^members ${R} \\d+$`))]);
    expect(renderSecurityGroupsUpdate(before, after)).toBe(`add element inet ncp_sg m_${c(R)}_4 { 10.9.200.1 }\n`);
    expect(renderSecurityGroupsUpdate(after, securityGroupTables(host(ports(3), [sshFromR], many), zones, cache))).toBe(
      `delete element inet ncp_sg m_${c(R)}_4 { 10.9.200.1 }\n`,
    );
  });

  it('gives a member address once whatever its spelling, keeps CIDR members apart, and drops a CIDR member inside another', () => {
    const elements = (members: string[]) =>
      [...securityGroupTables(host(ports(1), [sshFromR], members), zones).values()].flatMap((p) =>
        p.elements.filter((e) => e.set.startsWith('m_')).map((e) => e.text),
      );
    expect(elements(['2001:db8::1', '2001:DB8:0::1', '10.9.0.5', '10.9.0.5/32'])).toEqual(expect.arrayContaining(['10.9.0.5', '2001:db8::1']));
    expect(elements(['2001:db8::1', '2001:DB8:0::1', '10.9.0.5', '10.9.0.5/32'])).toHaveLength(2);
    expect(elements(['10.9.0.5', '10.9.0.0/24', '10.9.0.128/25', '10.9.1.7']).sort()).toEqual(['10.9.0.0/24', '10.9.0.5', '10.9.1.7']);
    // a CIDR member joining a group of host members is one element of the group's prefixes
    expect(update(host(ports(1), [sshFromR], ['10.9.0.5', '10.9.1.7']), host(ports(1), [sshFromR], ['10.9.0.5', '10.9.1.7', '10.9.0.0/24']))).toBe(
      `add element inet ncp_sg m_${c(R)}_4n { 10.9.0.0/24 }\n`,
    );
  });

  it('is empty when nothing changed', () => {
    expect(update(host(ports(3)), host(ports(3)))).toBe('');
  });

  it("is one set element when a port joins a remote group (the group's members)", () => {
    expect(update(host(ports(3)), host(ports(3), [sshFromR], ['10.9.0.1', '10.9.0.2']))).toBe(`add element inet ncp_sg m_${c(R)}_4 { 10.9.0.2 }\n`);
    expect(update(host(ports(3), [sshFromR], ['10.9.0.1', '10.9.0.2']), host(ports(3)))).toBe(`delete element inet ncp_sg m_${c(R)}_4 { 10.9.0.2 }\n`);
  });

  it("flushes and refills only the changed direction of the group's chains when a rule is added", () => {
    const icmp = rule({ protocol: 1, remoteIpPrefix: '192.0.2.0/24' });
    expect(update(host(ports(3)), host(ports(3), [sshFromR, icmp]))).toBe(
      [
        `flush chain inet ncp_sg g_${c(G)}_in`,
        'table inet ncp_sg {',
        `  chain g_${c(G)}_in {`,
        `    meta nfproto ipv4 ip saddr @m_${c(R)}_4 meta l4proto 6 th dport 22 accept`,
        `    meta nfproto ipv4 ip saddr @m_${c(R)}_4n meta l4proto 6 th dport 22 accept`,
        '    meta nfproto ipv4 ip saddr 192.0.2.0/24 meta l4proto 1 accept',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('is the same text for the same change whether the host has 1 port or 1,000', () => {
    const icmp = rule({ protocol: 1 });
    const change = (count: number) => [
      update(host(ports(count)), host(ports(count), [sshFromR, icmp])),
      update(host(ports(count)), host(ports(count), [sshFromR], ['10.9.0.1', '10.9.0.9'])),
    ];
    expect(change(1000)).toEqual(change(1));
  });

  it("adds a new port's dispatch entries and sources, and touches no other port nor any chain when its groups have a profile", () => {
    const text = update(host(ports(2)), host(ports(3)));
    const tap = '"tap00000003000"';
    expect(text).not.toContain('chain');
    expect(text).not.toContain('tap00000001');
    expect(text).toContain(`add element inet ncp_sg ingress_ports { "br-5e000000" . fa:16:3e:00:00:03 : jump ${profileChain([G], 'ingress')} }`);
    expect(text).toContain(`add element bridge ncp_sg ports { ${tap} }`);
    expect(text).toContain(`add element bridge ncp_sg src4 { ${tap} . 10.0.0.3 }`);
  });

  it('makes the chains of a new profile before the elements that jump to them', () => {
    const other = '5e000000-0000-4000-8000-00000000000c';
    const text = update(host(ports(2)), {
      ...host([...ports(2), port(3, { securityGroupIds: [G, other] })]),
      groups: [group([sshFromR]), group([], { id: other })],
    });
    const profile = profileChain([G, other], 'ingress');
    expect(text).toContain(
      `  chain ${profile} {\n    ct state established,related accept\n    ct state invalid drop\n    jump every_port_in\n    jump g_${c(G)}_in\n    jump g_${c(other)}_in\n    drop\n  }`,
    );
    expect(text.indexOf(`chain ${profile} {`)).toBeLessThan(text.indexOf(`jump ${profile} }`));
    expect(text).not.toContain('flush');
  });

  it('is only elements when a port joins a group and the host has a port with its new groups and one with its old ones', () => {
    const other = '5e000000-0000-4000-8000-00000000000c';
    const both = [G, other];
    const groups = [group([rule({ protocol: 1, remoteGroupId: other })]), group([], { id: other })];
    const before: SgHostIntent = {
      ports: [port(1, { securityGroupIds: both }), port(2), port(3)],
      groups,
      members: [{ groupId: other, addresses: ['10.0.0.1'] }],
    };
    const after: SgHostIntent = {
      ...before,
      ports: [port(1, { securityGroupIds: both }), port(2, { securityGroupIds: both }), port(3)],
      members: [{ groupId: other, addresses: ['10.0.0.1', '10.0.0.2'] }],
    };
    expect(update(before, after).trimEnd().split('\n')).toEqual([
      'delete element inet ncp_sg ingress_ports { "br-5e000000" . fa:16:3e:00:00:02 }',
      'delete element inet ncp_sg egress_ports { "br-5e000000" . fa:16:3e:00:00:02 }',
      `add element inet ncp_sg ingress_ports { "br-5e000000" . fa:16:3e:00:00:02 : jump ${profileChain(both, 'ingress')} }`,
      `add element inet ncp_sg egress_ports { "br-5e000000" . fa:16:3e:00:00:02 : jump ${profileChain(both, 'egress')} }`,
      `add element inet ncp_sg m_${c(other)}_4 { 10.0.0.2 }`,
    ]);
  });

  it('removes a port whole, and its profile, group and remote set with it when no other port uses them', () => {
    const text = update(host(ports(1)), host([]));
    const lines = text.trimEnd().split('\n');
    const inet = lines.filter((l) => l.includes(' inet '));
    expect(lines).toEqual(
      expect.arrayContaining([
        `flush chain inet ncp_sg ${profileChain([G], 'ingress')}`,
        `delete element inet ncp_sg ingress_ports { "br-5e000000" . fa:16:3e:00:00:01 }`,
        `delete chain inet ncp_sg ${profileChain([G], 'ingress')}`,
        `delete chain inet ncp_sg g_${c(G)}_in`,
        `delete set inet ncp_sg m_${c(R)}_4`,
        `delete set inet ncp_sg m_${c(R)}_4n`,
        'delete element bridge ncp_sg ports { "tap00000001000" }',
      ]),
    );
    // nothing refers to a chain or a set by the time it is deleted
    const lastReferenceDropped = Math.max(...inet.map((l, i) => (l.startsWith('flush') || l.startsWith('delete element') ? i : -1)));
    const firstDelete = inet.findIndex((l) => l.startsWith('delete chain') || l.startsWith('delete set'));
    expect(lastReferenceDropped).toBeLessThan(firstDelete);
    // the elements of a set that goes are not deleted one by one
    expect(text).not.toContain(`delete element inet ncp_sg m_${c(R)}_4`);
  });

  it('declares a newly named remote group set in the same transaction that fills it and the chain that uses it', () => {
    const other = '5e000000-0000-4000-8000-00000000000c';
    const before = host(ports(1));
    const after: SgHostIntent = {
      ...before,
      groups: [group([sshFromR, rule({ remoteGroupId: other })])],
      members: [...before.members, { groupId: other, addresses: ['10.8.0.1', '2001:db8::8'] }],
    };
    const text = update(before, after);
    expect(text).toContain(`  set m_${c(other)}_6 {\n    type ipv6_addr;\n  }`);
    expect(text).toContain(`  set m_${c(other)}_6n {\n    type ipv6_addr; flags interval;\n  }`);
    expect(text).toContain(`add element inet ncp_sg m_${c(other)}_6 { 2001:db8::8 }`);
    expect(text).toContain(`    meta nfproto ipv4 ip saddr @m_${c(other)}_4 accept`);
    expect(text.indexOf(`set m_${c(other)}_4 {`)).toBeLessThan(text.indexOf(`add element inet ncp_sg m_${c(other)}_4`));
  });

  it("moves a port's dispatch and sources to its new MAC", () => {
    const text = update(host([port(1)]), host([port(1, { mac: 'fa:16:3e:aa:00:01' })]));
    expect(text).toContain('delete element inet ncp_sg egress_ports { "br-5e000000" . fa:16:3e:00:00:01 }');
    expect(text).toContain(`add element inet ncp_sg egress_ports { "br-5e000000" . fa:16:3e:aa:00:01 : jump ${profileChain([G], 'egress')} }`);
    expect(text).toContain('delete element bridge ncp_sg macs { "tap00000001000" . fa:16:3e:00:00:01 }');
    expect(text).toContain('add element bridge ncp_sg macs { "tap00000001000" . fa:16:3e:aa:00:01 }');
    // its link-local address follows its MAC
    expect(text).toContain('add element bridge ncp_sg src6 { "tap00000001000" . fe80::f816:3eff:feaa:1 }');
    expect(text).not.toContain('flush chain');
  });

  it("refills its ports' profile without conntrack when their only group becomes stateless", () => {
    const stateless: SgHostIntent = { ...host(ports(1)), groups: [group([sshFromR], { stateful: false })] };
    const text = update(host(ports(1)), stateless);
    const profile = profileChain([G], 'ingress');
    expect(text).toContain(`flush chain inet ncp_sg ${profile}`);
    expect(text).toContain(`  chain ${profile} {\n    jump every_port_in\n    jump g_${c(G)}_in\n    drop\n  }`);
  });

  it('gives a shared MAC to the next port when the port that held it goes', () => {
    const vip = { ipAddress: '10.0.0.100', macAddress: 'fa:16:3e:00:00:99' };
    const other = '5e000000-0000-4000-8000-00000000000c';
    const [a, b] = [port(1, { allowedAddressPairs: [vip] }), port(2, { allowedAddressPairs: [vip], securityGroupIds: [other] })];
    const groups = [group([sshFromR]), group([], { id: other })];
    const text = update({ ...host([a, b]), groups }, { ...host([b]), groups });
    expect(text).toContain('delete element inet ncp_sg ingress_ports { "br-5e000000" . fa:16:3e:00:00:01, "br-5e000000" . fa:16:3e:00:00:99 }');
    expect(text).toContain(`add element inet ncp_sg ingress_ports { "br-5e000000" . fa:16:3e:00:00:99 : jump ${profileChain([other], 'ingress')} }`);
    expect(text.indexOf('delete element inet ncp_sg ingress_ports')).toBeLessThan(text.indexOf('add element inet ncp_sg ingress_ports'));
  });
});
