import { type RouterIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { F1, NS1, QG, QR, R1, address, convergedRouter1, freshlyPlugged, route, router1 } from './__fixtures__/intent.js';
import { type ObservedL3, type ObservedRouterNs } from './observed.js';
import { planL3, type L3Step } from './plan.js';

const HA_PORT = 'c3000000-0000-4000-8000-000000000003';
const HA = 'ha-c3000000000';
const IP = ['ip', '-n', NS1];
const argvs = (steps: readonly L3Step[]): string[] => steps.map((s) => s.argv.join(' '));
const j = (...words: string[]): string => words.join(' ');

const haRouter: RouterIntent = { ...router1, ha: { vrid: 7, priority: 50, interface: { portId: HA_PORT, ifname: HA, address: '169.254.192.5/18' } } };
const haLink = (...cidrs: string[]): ObservedRouterNs['links'][number] => ({ name: HA, up: true, addresses: cidrs.map((c) => address(c)) });

/** Router 1's namespace as the VRRP master holds it: keepalived's addresses and routes (proto 18), its primary VIP on ha-. */
function master(): ObservedRouterNs {
  const ns = convergedRouter1();
  return {
    ...ns,
    links: [...ns.links, haLink('169.254.192.5/18', '169.254.0.7/24')],
    routes: ns.routes.map((r) => (r.protocol === '190' ? { ...r, protocol: '18' } : r)),
  };
}

/** The backup: the same namespace without any of keepalived's addresses or routes. */
function backup(): ObservedRouterNs {
  const ns = convergedRouter1();
  return {
    ...ns,
    links: [...ns.links.map((l) => (l.name === QR || l.name === QG ? { ...l, addresses: [] } : l)), haLink('169.254.192.5/18')],
    routes: [],
  };
}

const routerError = (plan: { errors: readonly { item: string; error: string }[] }): string | undefined =>
  plan.errors.find((e) => e.item === `router:${R1}`)?.error;

const host = (ns: ObservedRouterNs): ObservedL3 => ({ netns: [NS1], routers: { [NS1]: ns } });

describe('planL3 for an HA router', () => {
  it('addresses only its ha- interface and leaves the router addresses, floating IPs and routes to keepalived', () => {
    const fresh = freshlyPlugged();
    const ns = fresh.routers[NS1];
    if (ns === undefined) throw new Error('fixture');
    const plan = planL3([haRouter], { ...fresh, routers: { [NS1]: { ...ns, links: [...ns.links, haLink()] } } });
    expect(plan.errors).toEqual([]);
    const steps = argvs(plan.steps);
    expect(steps.filter((s) => s.includes(' addr '))).toEqual([j(...IP, 'addr', 'add', '169.254.192.5/18', 'dev', HA)]);
    expect(steps.filter((s) => s.includes(' route ') || s.includes('arping'))).toEqual([]);
    // the NAT rules are on both hosts: the backup is ready when the addresses come
    expect(plan.steps.some((s) => s.argv.includes('nft') && s.input?.includes('10.0.2.215') === true)).toBe(true);
    expect(plan.steps.filter((s) => s.item === `fip:${F1}`)).toEqual([]);
  });

  it('plans nothing on the master nor on the backup', () => {
    expect(planL3([haRouter], host(master()))).toEqual({ steps: [], errors: [] });
    expect(planL3([haRouter], host(backup()))).toEqual({ steps: [], errors: [] });
  });

  it('removes what it made before the router became HA, and strangers on ha-', () => {
    const ns = backup();
    const observed = host({
      ...ns,
      links: ns.links.map((l) => (l.name === HA ? haLink('169.254.192.5/18', '169.254.192.9/18') : l)),
      routes: [route('0.0.0.0/0', ['10.0.2.2'], '190'), route('10.50.0.0/16', ['172.16.100.254'], '18')],
    });
    expect(argvs(planL3([haRouter], observed).steps)).toEqual([
      j(...IP, 'route', 'del', '0.0.0.0/0', 'proto', '190'),
      j(...IP, 'addr', 'del', '169.254.192.9/18', 'dev', HA),
    ]);
  });

  it('reports an ha- interface not plugged yet', () => {
    const plan = planL3([haRouter], host(convergedRouter1()));
    expect(plan.errors).toEqual([{ item: `router:${R1}`, error: `interface ${HA} not plugged yet` }]);
  });

  it('refuses an HA address that is not IPv4, or that the router already has', () => {
    const v6 = planL3([{ ...haRouter, ha: { vrid: 7, priority: 50, interface: { portId: HA_PORT, ifname: HA, address: 'fd00::5/64' } } }], host(master()));
    expect(v6.steps).toEqual([]);
    expect(routerError(v6)).toMatch(/must be IPv4/);
    const taken = planL3(
      [{ ...haRouter, ha: { vrid: 7, priority: 50, interface: { portId: HA_PORT, ifname: HA, address: '10.0.2.211/24' } } }],
      host(master()),
    );
    expect(routerError(taken)).toMatch(/10\.0\.2\.211 is on both/);
  });

  it('refuses a VRID outside 1-254', () => {
    const plan = planL3(
      [{ ...haRouter, ha: { vrid: 255, priority: 50, interface: { portId: HA_PORT, ifname: HA, address: '169.254.192.5/18' } } }],
      host(master()),
    );
    expect(plan.steps).toEqual([]);
    expect(routerError(plan)).toMatch(/vrid/);
  });
});
