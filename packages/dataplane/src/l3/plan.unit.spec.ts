import { type RouterIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { F1, F2, NS1, NS2, QG, QR, R1, R2, address, convergedHost, convergedRouter1, freshlyPlugged, route, router1, router2 } from './__fixtures__/intent.js';
import { expectGolden } from './__fixtures__/golden.js';
import { formatSteps } from '../format.js';
import { type ObservedL3, type ObservedRouterNs } from './observed.js';
import { planL3, type L3Plan, type L3Step } from './plan.js';

const IP = ['ip', '-n', NS1];
const EXEC = ['ip', 'netns', 'exec', NS1];
const argvs = (steps: readonly L3Step[]): string[] => steps.map((s) => s.argv.join(' '));
const itemSteps = (plan: L3Plan, item: string): string[] => argvs(plan.steps.filter((s) => s.item === item));
const j = (...words: string[]): string => words.join(' ');

/** The converged host with router 1's namespace changed by `change`. */
function drifted(change: (ns: ObservedRouterNs) => ObservedRouterNs): ObservedL3 {
  const host = convergedHost();
  return { ...host, routers: { ...host.routers, [NS1]: change(convergedRouter1()) } };
}

function withLink(ns: ObservedRouterNs, name: string, change: (l: ObservedRouterNs['links'][number]) => ObservedRouterNs['links'][number]): ObservedRouterNs {
  return { ...ns, links: ns.links.map((l) => (l.name === name ? change(l) : l)) };
}

const both = [router1, router2];

describe('planL3', () => {
  it('configures a freshly plugged router and creates the namespace of one without ports', () => {
    const plan = planL3(both, freshlyPlugged());
    expect(plan.errors).toEqual([]);
    expectGolden('plan.txt', formatSteps(plan.steps));
    expect(itemSteps(plan, `router:${R2}`)).toEqual([
      j('ip', 'netns', 'add', NS2),
      j(
        'ip',
        'netns',
        'exec',
        NS2,
        'sysctl',
        '-q',
        '-w',
        'net.ipv4.ip_forward=1',
        'net.ipv6.conf.all.forwarding=1',
        'net.ipv4.conf.all.promote_secondaries=1',
        'net.ipv6.conf.all.keep_addr_on_down=1',
        'net.ipv4.conf.all.arp_ignore=1',
      ),
      j('ip', '-n', NS2, 'link', 'set', 'dev', 'lo', 'up'),
    ]);
    expect(itemSteps(plan, `fip:${F1}`)).toEqual([
      j(...IP, 'addr', 'add', '10.0.2.215/32', 'dev', QG),
      j(...EXEC, 'arping', '-U', '-c', '1', '-I', QG, '10.0.2.215'),
    ]);
    const nft = plan.steps.find((s) => s.argv.includes('nft'));
    expect(nft?.argv).toEqual([...EXEC, 'nft', '-f', '-']);
    expect(nft?.input).toMatch(/^table inet ncp_router \{\}\ndelete table inet ncp_router\ntable inet ncp_router \{\n\tcomment "ncp:sha256:/);
    expect(plan.steps.filter((s) => s.argv.includes('arping')).every((s) => s.tolerate === 'best-effort')).toBe(true);
  });

  it('plans nothing when every namespace already matches', () => {
    expect(planL3(both, convergedHost())).toEqual({ steps: [], errors: [] });
  });

  it('fixes exactly the addresses that differ, on our interfaces only', () => {
    const observed = drifted((ns) => {
      const changed = withLink(ns, QR, (l) => ({
        ...l,
        addresses: [...l.addresses.filter((a) => a.cidr !== 'fd00:100::1/64'), address('172.16.100.99/24'), address('fd00:100::99/64')],
      }));
      // not ours: never touched
      return { ...changed, links: [...changed.links, { name: 'eth9', up: true, addresses: [address('192.0.2.1/24')] }] };
    });
    expect(argvs(planL3(both, observed).steps)).toEqual([
      j(...IP, 'addr', 'del', '172.16.100.99/24', 'dev', QR),
      j(...IP, 'addr', 'del', 'fd00:100::99/64', 'dev', QR),
      j(...IP, 'addr', 'add', 'fd00:100::1/64', 'dev', QR),
    ]);
  });

  it('removes our stale routes, fixes a changed nexthop and leaves other protocols alone', () => {
    const observed = drifted((ns) => ({
      ...ns,
      routes: [
        ...ns.routes.map((r) => (r.destination === '10.50.0.0/16' ? { ...r, nexthops: ['172.16.100.253'] } : r)),
        route('10.77.0.0/16', ['10.0.2.2'], '190'),
        route('10.88.0.0/16', ['10.0.2.2'], '4'),
        route('2001:db8:0:77::/64', ['2001:db8:0:1::2'], '190'),
        route('10.99.0.0/16', ['10.0.2.2'], '190', { metric: 5 }),
      ],
    }));
    expect(argvs(planL3(both, observed).steps)).toEqual([
      j(...IP, 'route', 'del', '10.77.0.0/16', 'proto', '190'),
      j(...IP, 'route', 'del', '2001:db8:0:77::/64', 'proto', '190', 'metric', '1024'),
      j(...IP, 'route', 'del', '10.99.0.0/16', 'proto', '190', 'metric', '5'),
      j(...IP, 'route', 'replace', '10.50.0.0/16', 'via', '172.16.100.254', 'proto', '190'),
    ]);
  });

  it('reports an interface the L2 driver has not plugged yet, and still does the rest', () => {
    const observed = drifted((ns) => ({
      ...ns,
      links: ns.links.filter((l) => l.name !== QR),
      routes: ns.routes.filter((r) => r.destination !== '10.50.0.0/16'),
    }));
    const plan = planL3(both, observed);
    expect(plan.errors).toEqual([{ item: `router:${R1}`, error: `interface ${QR} not plugged yet` }]);
    // the extra route through the missing interface waits; nothing else needs doing
    expect(plan.steps).toEqual([]);

    const unplugged = planL3(both, {
      ...freshlyPlugged(),
      routers: { [NS1]: { ...(freshlyPlugged().routers[NS1] ?? convergedRouter1()), links: [{ name: 'lo', up: true, addresses: [] }] } },
    });
    expect(unplugged.errors).toEqual([
      { item: `fip:${F1}`, error: `gateway interface ${QG} not plugged yet` },
      { item: `fip:${F2}`, error: `gateway interface ${QG} not plugged yet` },
      { item: `router:${R1}`, error: `interface ${QG} not plugged yet; interface ${QR} not plugged yet` },
    ]);
    // no address or route can be placed, but the namespace settings and the NAT table can
    expect(itemSteps(unplugged, `router:${R1}`).map((s) => s.split(' ').slice(4, 6).join(' '))).toEqual(['sysctl -q', 'nft -f']);
  });

  it('turns forwarding off for an admin-down router, leaving its links to the L2 driver', () => {
    const down: RouterIntent = { ...router1, adminStateUp: false };
    const off = j('ip', 'netns', 'exec', NS1, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=0');
    expect(argvs(planL3([down, router2], convergedHost()).steps)).toEqual([off]);
    const forwardingOff = drifted((ns) => ({ ...ns, sysctl: { ...ns.sysctl, 'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.forwarding': '0' } }));
    expect(planL3([down, router2], forwardingOff)).toEqual({ steps: [], errors: [] });
    // and back up
    expect(argvs(planL3(both, forwardingOff).steps)).toEqual([
      j('ip', 'netns', 'exec', NS1, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'),
    ]);
  });

  it('removes a floating IP: its address, its rules, then its connections', () => {
    const without: RouterIntent = { ...router1, floatingIps: router1.floatingIps.filter((f) => f.id !== F2) };
    const plan = planL3([without, router2], convergedHost());
    expect(plan.errors).toEqual([]);
    expect(argvs(plan.steps)).toEqual([
      j(...IP, 'addr', 'del', '10.0.2.216/32', 'dev', QG),
      j(...EXEC, 'nft', '-f', '-'),
      j(...EXEC, 'conntrack', '-D', '-d', '10.0.2.216'),
      j(...EXEC, 'conntrack', '-D', '-q', '10.0.2.216'),
    ]);
    expect(plan.steps.filter((s) => s.argv.includes('conntrack')).every((s) => s.tolerate === 'no-flow-entries')).toBe(true);
    expect(plan.steps[1]?.input).not.toContain('10.0.2.216');
  });

  it('flushes the connections of a floating IP that moved to another fixed IP', () => {
    const moved: RouterIntent = { ...router1, floatingIps: router1.floatingIps.map((f) => (f.id === F1 ? { ...f, fixedIp: '172.16.100.12' } : f)) };
    const plan = planL3([moved, router2], convergedHost());
    expect(itemSteps(plan, `router:${R1}`)).toEqual([j(...EXEC, 'nft', '-f', '-')]);
    expect(itemSteps(plan, `fip:${F1}`)).toEqual([j(...EXEC, 'conntrack', '-D', '-d', '10.0.2.215'), j(...EXEC, 'conntrack', '-D', '-q', '10.0.2.215')]);
  });

  it('re-applies the table when rules were deleted behind the comment, and deletes it without NAT', () => {
    const flushed = drifted((ns) => ({ ...ns, ruleset: ns.ruleset === null ? null : { ...ns.ruleset, rules: { ...ns.ruleset.rules, postrouting: 0 } } }));
    const plan = planL3(both, flushed);
    expect(plan.steps.map((s) => [s.argv.join(' '), s.why])).toEqual([[j(...EXEC, 'nft', '-f', '-'), 'NAT rules were changed behind our back']]);

    const noNat: RouterIntent = { ...router1, snat: [], floatingIps: [] };
    expect(argvs(planL3([noNat, router2], convergedHost()).steps)).toEqual([
      j(...IP, 'addr', 'del', '10.0.2.215/32', 'dev', QG),
      j(...IP, 'addr', 'del', '10.0.2.216/32', 'dev', QG),
      j(...EXEC, 'nft', 'delete', 'table', 'inet', 'ncp_router'),
      j(...EXEC, 'conntrack', '-D', '-d', '10.0.2.215'),
      j(...EXEC, 'conntrack', '-D', '-q', '10.0.2.215'),
      j(...EXEC, 'conntrack', '-D', '-d', '10.0.2.216'),
      j(...EXEC, 'conntrack', '-D', '-q', '10.0.2.216'),
    ]);
  });

  it('sweeps router namespaces nobody wants, recognised by their exact name form only', () => {
    const observed: ObservedL3 = {
      ...convergedHost(),
      netns: [NS1, NS2, 'qrouter-deadbeef', 'qrouter-0badc0de', 'qrouter-2f1c6ab4-1f1e-4a4b-9f7e-111111111111', 'qrouter-notours', 'wl-vm1', 'qdhcp-deadbeef'],
    };
    const plan = planL3(both, observed);
    expect(plan.steps.map((s) => [s.item, s.argv.join(' ')])).toEqual([
      ['sweep', 'ip netns del qrouter-0badc0de'],
      ['sweep', 'ip netns del qrouter-deadbeef'],
    ]);
    // a router in the intent but in error keeps its namespace
    const broken = { ...router1, routes: [{ destination: '10.1.0.0/16', nexthop: '192.0.2.1' }] };
    expect(planL3([broken], observed).steps.map((s) => s.argv.join(' '))).toEqual([
      'ip netns del qrouter-0badc0de',
      'ip netns del qrouter-b2c3d4e5',
      'ip netns del qrouter-deadbeef',
    ]);
    // a custom prefix (tests) sweeps only its own
    const custom = planL3([], { netns: ['t1-qrouter-deadbeef', 'qrouter-deadbeef'], routers: {} }, { namespacePrefix: 't1-qrouter-' });
    expect(argvs(custom.steps)).toEqual(['ip netns del t1-qrouter-deadbeef']);
  });

  it('refuses an invalid router as a whole and touches nothing of it', () => {
    const cases: [RouterIntent, RegExp][] = [
      [{ ...router1, namespace: 'qrouter-ffffffff' }, /namespace must be qrouter-a1b2c3d4/],
      [{ ...router1, routes: [{ destination: '10.1.0.0/16', nexthop: '192.0.2.1' }] }, /nexthop 192\.0\.2\.1 is not on a subnet of the router/],
      [{ ...router1, routes: [{ destination: '10.1.0.1/16', nexthop: '10.0.2.2' }] }, /host bits are set; did you mean '10\.1\.0\.0\/16'/],
      [{ ...router1, routes: [{ destination: '::/0', nexthop: '10.0.2.2' }] }, /nexthop 10\.0\.2\.2 is not IPv6/],
      [{ ...router1, interfaces: router1.interfaces.map((i) => ({ ...i, kind: 'gateway' as const })) }, /gateway interface qr-c1000000000 must be named qg-/],
      [
        { ...router1, interfaces: [...router1.interfaces, { ...router1.interfaces[1], portId: F1, ifname: 'qg-other' } as RouterIntent['interfaces'][number]] },
        /address 10\.0\.2\.211 is on both/,
      ],
      [{ ...router1, snat: [{ source: '172.16.100.0/24', to: '2001:db8::1', exceptDestinations: [] }] }, /not an IPv4 address/],
      [{ ...router1, interfaces: [{ ...router1.interfaces[0], ifname: 'eth0' } as RouterIntent['interfaces'][number]] }, /must be named qr-/],
      [{ ...router1, id: 'not-a-uuid' }, /invalid router: id: must be a UUID/],
    ];
    for (const [intent, message] of cases) {
      const plan = planL3([intent], { ...convergedHost(), netns: [NS1] });
      expect(plan.steps.filter((s) => s.item !== 'sweep')).toEqual([]);
      expect(plan.errors.find((e) => e.item === `router:${intent.id}`)?.error).toMatch(message);
    }
    const fipsOfBroken = planL3([{ ...router1, namespace: 'qrouter-ffffffff' }], convergedHost()).errors;
    expect(fipsOfBroken.filter((e) => e.item.startsWith('fip:')).map((e) => e.error)).toEqual([
      `router ${R1} is in error on this host, so its floating IPs are not configured`,
      `router ${R1} is in error on this host, so its floating IPs are not configured`,
    ]);
  });

  it('refuses a bad floating IP alone, and keeps its address where it is', () => {
    const bad: RouterIntent = {
      ...router1,
      floatingIps: [
        ...router1.floatingIps.map((f) => (f.id === F2 ? { ...f, fixedIp: '192.168.1.5' } : f)),
        { id: 'f3000000-0000-4000-8000-0000000000f3', floatingIp: '10.0.2.215', fixedIp: '172.16.100.13' },
        { id: 'f4000000-0000-4000-8000-0000000000f4', floatingIp: '10.0.2.211', fixedIp: '172.16.100.14' },
      ],
    };
    const plan = planL3([bad, router2], convergedHost());
    expect(plan.errors).toEqual([
      { item: `fip:${F2}`, error: `fixed IP 192.168.1.5 is not on an internal subnet of router ${R1}` },
      { item: 'fip:f3000000-0000-4000-8000-0000000000f3', error: `10.0.2.215 is also floating IP ${F1}` },
      { item: 'fip:f4000000-0000-4000-8000-0000000000f4', error: '10.0.2.211 is an address of the router itself' },
    ]);
    // F2's rules go (they cannot be rendered); its /32 stays, and so do its connections
    expect(argvs(plan.steps)).toEqual([j(...EXEC, 'nft', '-f', '-')]);
  });

  it('refuses conflicting entries for one router, and a floating IP listed by two routers', () => {
    const twice = planL3([router1, { ...router1, floatingIps: [] }, router2], convergedHost());
    expect(twice.steps).toEqual([]);
    expect(twice.errors.find((e) => e.item === `router:${R1}`)?.error).toBe('the intent holds conflicting entries for this router');

    const r2WithF1: RouterIntent = {
      ...router2,
      interfaces: router1.interfaces.map((i) => ({ ...i, portId: i.portId.replace('c', 'e'), ifname: i.ifname.replace('c1', 'e1').replace('c2', 'e2') })),
      floatingIps: router1.floatingIps.filter((f) => f.id === F1),
    };
    const shared = planL3([router1, r2WithF1], { ...convergedHost(), netns: [NS1] });
    expect(shared.errors).toEqual(expect.arrayContaining([{ item: `fip:${F1}`, error: `floating IP ${F1} is also in the intent of router ${R1}` }]));
    expect(shared.steps.filter((s) => s.item === `fip:${F1}`)).toEqual([]);
  });

  it('refuses a route that would replace one that is not ours', () => {
    const clash: RouterIntent = { ...router1, routes: [...router1.routes, { destination: '172.16.100.0/24', nexthop: '10.0.2.2' }] };
    const plan = planL3([clash, router2], convergedHost());
    expect(plan.steps).toEqual([]);
    expect(plan.errors).toEqual([{ item: `router:${R1}`, error: 'a route to 172.16.100.0/24 exists and is not ours (protocol 2); not replacing it' }]);
  });

  it('makes one ECMP route of several nexthops, and gives a link-local nexthop its device', () => {
    const ecmp: RouterIntent = {
      ...router1,
      routes: [
        ...router1.routes.filter((r) => r.destination !== '::/0'),
        { destination: '0.0.0.0/0', nexthop: '10.0.2.3' },
        { destination: '::/0', nexthop: 'FE80::1' },
      ],
    };
    expect(argvs(planL3([ecmp, router2], convergedHost()).steps)).toEqual([
      j(...IP, 'route', 'replace', '0.0.0.0/0', 'proto', '190', 'nexthop', 'via', '10.0.2.2', 'nexthop', 'via', '10.0.2.3'),
      j(...IP, 'route', 'replace', '::/0', 'via', 'fe80::1', 'dev', QG, 'proto', '190'),
    ]);
    const converged = drifted((ns) => ({
      ...ns,
      routes: ns.routes.map((r) =>
        r.destination === '0.0.0.0/0' ? { ...r, nexthops: ['10.0.2.2', '10.0.2.3'] } : r.destination === '::/0' ? { ...r, nexthops: ['fe80::1'] } : r,
      ),
    }));
    expect(planL3([ecmp, router2], converged)).toEqual({ steps: [], errors: [] });
    // one next hop withdrawn (a core router's BGP route gone): one plain route again, replaced in one step
    const single: RouterIntent = { ...ecmp, routes: ecmp.routes.filter((r) => r.nexthop !== '10.0.2.3') };
    expect(argvs(planL3([single, router2], converged).steps)).toEqual([j(...IP, 'route', 'replace', '0.0.0.0/0', 'via', '10.0.2.2', 'proto', '190')]);
  });

  it('re-adds an address whose duplicate address detection failed, and says so', () => {
    const observed = drifted((ns) =>
      withLink(ns, QR, (l) => ({ ...l, addresses: l.addresses.map((a) => (a.cidr === 'fd00:100::1/64' ? { ...a, dadFailed: true } : a)) })),
    );
    const plan = planL3(both, observed);
    expect(argvs(plan.steps)).toEqual([j(...IP, 'addr', 'del', 'fd00:100::1/64', 'dev', QR), j(...IP, 'addr', 'add', 'fd00:100::1/64', 'dev', QR)]);
    expect(plan.errors[0]?.error).toMatch(/fd00:100::1\/64 on qr-c1000000000 failed duplicate address detection/);
  });

  it('flushes conntrack for an address removed from the gateway and announces a new one', () => {
    const renumbered: RouterIntent = {
      ...router1,
      interfaces: router1.interfaces.map((i) => (i.kind === 'gateway' ? { ...i, addresses: ['10.0.2.212/24', '2001:db8:0:1::1/64'] } : i)),
      snat: router1.snat.map((s) => ({ ...s, to: '10.0.2.212' })),
    };
    expect(argvs(planL3([renumbered, router2], convergedHost()).steps)).toEqual([
      j(...IP, 'addr', 'del', '10.0.2.211/24', 'dev', QG),
      j(...IP, 'addr', 'add', '10.0.2.212/24', 'dev', QG),
      j(...EXEC, 'nft', '-f', '-'),
      j(...EXEC, 'conntrack', '-D', '-d', '10.0.2.211'),
      j(...EXEC, 'conntrack', '-D', '-q', '10.0.2.211'),
      j(...EXEC, 'arping', '-U', '-c', '1', '-I', QG, '10.0.2.212'),
    ]);
  });

  it('reports a namespace that could not be read as an error of its router only', () => {
    const observed: ObservedL3 = { ...convergedHost(), routers: { [NS2]: convergedHost().routers[NS2] ?? convergedRouter1() }, errors: { [NS1]: 'gone' } };
    const plan = planL3(both, observed);
    expect(plan.steps).toEqual([]);
    expect(plan.errors.map((e) => e.item)).toEqual([`fip:${F1}`, `fip:${F2}`, `router:${R1}`]);
  });

  it('with an owner, marks its namespaces and sweeps only the ones it marked', () => {
    const fresh = planL3(both, freshlyPlugged(), { owner: 'host-a' });
    expect(itemSteps(fresh, `router:${R1}`)[1]).toBe(j(...IP, 'link', 'set', 'dev', 'lo', 'alias', 'ncp:l3:host-a', 'up'));
    expect(itemSteps(fresh, `router:${R2}`)[2]).toBe(j('ip', '-n', NS2, 'link', 'set', 'dev', 'lo', 'alias', 'ncp:l3:host-a', 'up'));

    const marked: ObservedL3 = {
      ...convergedHost(),
      netns: [NS1, NS2, 'qrouter-0000000a', 'qrouter-0000000b', 'qrouter-0000000c'],
      marks: {
        [NS1]: 'ncp:l3:host-a',
        [NS2]: 'ncp:l3:host-a',
        'qrouter-0000000a': 'ncp:l3:host-a',
        'qrouter-0000000b': 'ncp:l3:host-b',
        'qrouter-0000000c': null,
      },
    };
    expect(argvs(planL3(both, marked, { owner: 'host-a' }).steps)).toEqual(['ip netns del qrouter-0000000a']);
    // a namespace of ours that lost its mark gets it back
    const unmarked = { ...marked, marks: { ...marked.marks, [NS1]: null } };
    expect(argvs(planL3(both, unmarked, { owner: 'host-a' }).steps)).toEqual([
      'ip netns del qrouter-0000000a',
      j(...IP, 'link', 'set', 'dev', 'lo', 'alias', 'ncp:l3:host-a'),
    ]);
    // without an owner, the name alone decides
    expect(argvs(planL3(both, marked).steps)).toEqual(['ip netns del qrouter-0000000a', 'ip netns del qrouter-0000000b', 'ip netns del qrouter-0000000c']);
  });

  it('refuses invalid options', () => {
    expect(() => planL3(both, convergedHost(), { namespacePrefix: '-x' })).toThrow(/invalid L3 options/);
    expect(() => planL3(both, convergedHost(), { namespacePrefix: 'a/b' })).toThrow(/invalid L3 options/);
    expect(() => planL3(both, convergedHost(), { owner: 'host a' })).toThrow(/invalid L3 options: owner/);
  });

  it('does not depend on the order of the intent', () => {
    const base = planL3(both, freshlyPlugged());
    const shuffled: RouterIntent[][] = [
      [router2, router1],
      [
        {
          ...router1,
          interfaces: [...router1.interfaces].reverse().map((i) => ({ ...i, addresses: [...i.addresses].reverse() })),
          routes: [...router1.routes].reverse(),
          floatingIps: [...router1.floatingIps].reverse(),
          snat: router1.snat.map((s) => ({ ...s, exceptDestinations: [...s.exceptDestinations].reverse() })),
        },
        router2,
      ],
      // identical duplicates are harmless
      [router1, router2, router1],
      [{ ...router1, routes: [...router1.routes, ...router1.routes] }, router2],
    ];
    for (const intents of shuffled) {
      const plan = planL3(intents, freshlyPlugged());
      expect(plan.errors).toEqual([]);
      expect(plan.steps).toEqual(base.steps);
    }
  });
});
