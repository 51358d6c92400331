import { type RouterIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { QG, R1, router1 } from './__fixtures__/intent.js';
import { expectGolden } from './__fixtures__/golden.js';
import { renderRouterNat, renderRouterRuleset, replaceTableScript, routerNat } from './nft.js';
import { parseNftTableText } from './observed.js';

const noNat: RouterIntent = { ...router1, snat: [], floatingIps: [] };

/** Several SNAT sources (nested prefixes), exclusions that overlap or touch, three floating IPs. */
const busy: RouterIntent = {
  ...router1,
  snat: [
    { source: '172.16.0.0/16', to: '10.0.2.211', exceptDestinations: [] },
    { source: '172.16.100.0/24', to: '10.0.2.212', exceptDestinations: ['10.9.0.128/25', '192.168.0.0/16', '10.9.0.0/25', '192.168.7.0/24'] },
    { source: '172.16.101.0/24', to: '10.0.2.211', exceptDestinations: ['10.9.0.2/32'] },
  ],
  floatingIps: [
    { id: 'f0000003-0000-4000-8000-000000000003', floatingIp: '10.0.2.30', fixedIp: '172.16.100.30' },
    { id: 'f0000001-0000-4000-8000-000000000001', floatingIp: '10.0.2.215', fixedIp: '172.16.100.10' },
    { id: 'f0000002-0000-4000-8000-000000000002', floatingIp: '10.0.2.4', fixedIp: '172.16.101.4' },
  ],
};

describe('routerNat', () => {
  it('returns the NAT as data in rule order', () => {
    expect(routerNat(busy)).toEqual({
      gateway: QG,
      floatingIps: [
        { floatingIp: '10.0.2.4', fixedIp: '172.16.101.4' },
        { floatingIp: '10.0.2.30', fixedIp: '172.16.100.30' },
        { floatingIp: '10.0.2.215', fixedIp: '172.16.100.10' },
      ],
      // the longest source prefix first: the first matching rule wins
      snat: [
        { source: '172.16.100.0/24', to: '10.0.2.212', exceptDestinations: ['10.9.0.0/24', '192.168.0.0/16'] },
        { source: '172.16.101.0/24', to: '10.0.2.211', exceptDestinations: ['10.9.0.2/32'] },
        { source: '172.16.0.0/16', to: '10.0.2.211', exceptDestinations: [] },
      ],
    });
  });

  it('is null without SNAT and floating IPs', () => {
    expect(routerNat(noNat)).toBeNull();
    expect(renderRouterRuleset(noNat)).toBe('');
  });

  it('refuses what must not reach nft', () => {
    expect(() => routerNat({ ...router1, floatingIps: [{ id: R1, floatingIp: '2001:db8::5', fixedIp: '172.16.100.10' }] })).toThrow(/not an IPv4 address/);
    expect(() => routerNat({ ...router1, snat: [{ source: '172.16.100.1/24', to: '10.0.2.211', exceptDestinations: [] }] })).toThrow(/host bits/);
    expect(() =>
      routerNat({ ...router1, snat: [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: ['10.9.0.0/24"; flush ruleset'] }] }),
    ).toThrow(/not a valid CIDR/);
    expect(() => routerNat({ ...router1, interfaces: router1.interfaces.filter((i) => i.kind !== 'gateway') })).toThrow(/exactly one gateway interface/);
    expect(() =>
      routerNat({
        ...router1,
        floatingIps: [
          { id: R1, floatingIp: '10.0.2.215', fixedIp: '172.16.100.10' },
          { id: R1, floatingIp: '10.0.2.216', fixedIp: '172.16.100.10' },
        ],
      }),
    ).toThrow(/two floating IPs/);
  });
});

describe('renderRouterRuleset', () => {
  it('matches the golden ruleset of the fixture router', () => {
    expectGolden('router1.nft', renderRouterRuleset(router1));
  });

  it('matches the golden ruleset of a busy router', () => {
    expectGolden('busy.nft', renderRouterRuleset(busy));
  });

  it('omits the exclusion set when a SNAT entry has none', () => {
    const text = renderRouterRuleset({ ...router1, snat: [{ source: '172.16.100.0/24', to: '10.0.2.211', exceptDestinations: [] }], floatingIps: [] });
    expect(text).toContain(`\t\tip saddr 172.16.100.0/24 oifname "${QG}" snat ip to 10.0.2.211\n`);
    expect(text).not.toContain('daddr !=');
  });

  it('does not depend on the order of floating IPs, SNAT entries and exclusions', () => {
    const base = renderRouterRuleset(busy);
    const variants: RouterIntent[] = [
      { ...busy, snat: [...busy.snat].reverse(), floatingIps: [...busy.floatingIps].reverse() },
      { ...busy, snat: busy.snat.map((s) => ({ ...s, exceptDestinations: [...s.exceptDestinations].reverse() })) },
      // duplicated entries, and an exclusion list written in other (equivalent) prefixes
      {
        ...busy,
        snat: [
          ...busy.snat.map((s) => (s.source === '172.16.100.0/24' ? { ...s, exceptDestinations: ['10.9.0.0/24', '192.168.0.0/17', '192.168.128.0/17'] } : s)),
          ...busy.snat.slice(0, 1),
        ],
        floatingIps: [...busy.floatingIps, ...busy.floatingIps],
      },
      { ...busy, interfaces: [...busy.interfaces].reverse(), routes: [] },
    ];
    for (const variant of variants) expect(renderRouterRuleset(variant)).toBe(base);
  });

  it('keeps a hash of the chains in the table comment, which observe reads back', () => {
    const nat = routerNat(router1);
    if (nat === null) throw new Error('expected NAT');
    const rendered = renderRouterNat(nat);
    expect(rendered.comment).toMatch(/^ncp:sha256:[0-9a-f]{64}$/);
    expect(rendered.rules).toEqual({ prerouting: 2, output: 2, postrouting: 3 });
    expect(parseNftTableText(rendered.text)).toEqual({
      comment: rendered.comment,
      rules: rendered.rules,
      dnat: { '10.0.2.215': '172.16.100.10', '10.0.2.216': '172.16.100.11' },
    });
    const moved = renderRouterNat({ ...nat, floatingIps: nat.floatingIps.map((f) => ({ ...f, fixedIp: '172.16.100.99' })) });
    expect(moved.comment).not.toBe(rendered.comment);
  });

  it('replaces the table in one nft transaction', () => {
    const nat = routerNat(router1);
    if (nat === null) throw new Error('expected NAT');
    const rendered = renderRouterNat(nat);
    expect(replaceTableScript(rendered)).toBe(`table inet ncp_router {}\ndelete table inet ncp_router\n${rendered.text}`);
  });
});
