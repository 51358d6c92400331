import { type L2HostIntent, type L2PortIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { FakeKernel } from './__fixtures__/fake-kernel.js';
import { P1, P2, P3, config, fixtureIntent, frozenIntent, l2Port, vxlanNet1 } from './__fixtures__/intent.js';
import { observeL2 } from './observe.js';
import { type ObservedL2, type ObservedLink } from './observed.js';
import { planL2, type L2PlanWithSettled } from './plan.js';
import { reconcileL2 } from './reconcile.js';

/* A plan given the last plan's settled ports must be the plan made without them, whatever changed. */

// fixtureIntent's ports, and a fourth sharing port1's namespace
const P4 = 'dddd4444-0000-4000-8000-0000000000d4';
const start = frozenIntent({ ...fixtureIntent, ports: [...fixtureIntent.ports, l2Port(P4, vxlanNet1.id, 'fa:16:3e:00:01:04', 'wl-vm1', 'eth1')] });

async function convergedHost(intent: L2HostIntent): Promise<ObservedL2> {
  const kernel = new FakeKernel('host-a', ['eth1', 'eth2']);
  expect((await reconcileL2(intent, config, kernel)).every((r) => r.ok)).toBe(true);
  return observeL2(intent, config, kernel);
}

const withHostLink = (o: ObservedL2, name: string, change: (l: ObservedLink) => ObservedLink | null): ObservedL2 => ({
  ...o,
  hostLinks: o.hostLinks.flatMap((l) => (l.name === name ? [change(l)].filter((x) => x !== null) : [l])),
});
const withWorkload = (o: ObservedL2, ns: string, links: readonly ObservedLink[] | undefined): ObservedL2 => {
  const workloadLinks = { ...o.workloadLinks };
  if (links === undefined) delete workloadLinks[ns];
  else workloadLinks[ns] = links;
  return { ...o, workloadLinks, netns: links === undefined ? o.netns.filter((n) => n !== ns) : o.netns };
};
const withPort = (i: L2HostIntent, id: string, change: (p: L2PortIntent) => L2PortIntent | null): L2HostIntent => ({
  ...i,
  ports: i.ports.flatMap((p) => (p.id === id ? [change(p)].filter((x) => x !== null).map((x) => Object.freeze(x)) : [p])),
});

const planOf = (p: L2PlanWithSettled) => ({ steps: p.steps, errors: p.errors, settled: [...p.settled.keys()].sort() });

describe('planL2 from the last plan’s settled ports', () => {
  it('finds every port of a converged host settled, and plans nothing for them', async () => {
    const observed = await convergedHost(start);
    const first = planL2(start, config, observed);
    expect(first.steps).toEqual([]);
    // port3 is administratively down, and its host end with it: settled as well
    expect([...first.settled.keys()].sort()).toEqual(start.ports.map((p) => p.id).sort());
    expect(first.settled.get(P2)?.tap).toBe(observed.hostLinks.find((l) => l.name === 'tapbbbb2222000'));
    const again = planL2(start, config, observed, first.settled);
    expect(planOf(again)).toEqual(planOf(first));
    // not planned again: each is what the last plan kept
    for (const [id, port] of first.settled) expect(again.settled.get(id)).toBe(port);
  });

  it('plans what a plan without them plans after each kind of change', async () => {
    const observed = await convergedHost(start);
    const { settled } = planL2(start, config, observed);
    const wlVm2 = observed.workloadLinks['wl-vm2'] ?? [];
    const clashing = Object.freeze(l2Port('bbbb2222-0000-4000-8000-0000000000a0', vxlanNet1.id, 'fa:16:3e:00:01:05', 'wl-vm5'));
    const cases: [string, L2HostIntent, ObservedL2][] = [
      ['a host end read again with another MTU', start, withHostLink(observed, 'tapbbbb2222000', (l) => ({ ...l, mtu: 1400 }))],
      ['a host end gone', start, withHostLink(observed, 'tapbbbb2222000', () => null)],
      ['a host end now someone else’s', start, withHostLink(observed, 'tapbbbb2222000', (l) => ({ ...l, alias: 'theirs' }))],
      [
        'a shared namespace read again with its loopback down',
        start,
        withWorkload(
          observed,
          'wl-vm2',
          wlVm2.map((l) => (l.name === 'lo' ? { ...l, up: false } : l)),
        ),
      ],
      ['a shared namespace gone', start, withWorkload(observed, 'wl-vm2', undefined)],
      [
        'a workload end gone',
        start,
        withWorkload(
          observed,
          'wl-vm2',
          wlVm2.filter((l) => l.name !== 'eth0'),
        ),
      ],
      ['a port changed', withPort(start, P3, (p) => ({ ...p, adminStateUp: true })), observed],
      ['a port moved to another namespace', withPort(start, P2, (p) => ({ ...p, workload: { netns: 'wl-vm9', ifname: 'eth0' } })), observed],
      ['a port removed', withPort(start, P2, () => null), observed],
      // sorting before P2, with the same first hex digits: it takes the name of P2's host end
      ['a port whose host end name clashes added', { ...start, ports: [...start.ports, clashing] }, observed],
      [
        'a network’s MTU changed',
        { ...start, networks: start.networks.map((n) => (n.id === vxlanNet1.id ? Object.freeze({ ...n, mtu: 1400 }) : n)) },
        observed,
      ],
    ];
    for (const [what, intent, now] of cases) {
      const full = planL2(intent, config, now);
      expect({ what, plan: planOf(planL2(intent, config, now, settled)) }).toEqual({ what, plan: planOf(full) });
      expect({ what, changed: full.steps.length + full.errors.length > 0 }).toEqual({ what, changed: true });
    }
  });

  it('leaves a namespace’s loopback to the port that brings it up, and to the next when that one goes', async () => {
    const observed = await convergedHost(start);
    const wlVm1 = observed.workloadLinks['wl-vm1'] ?? [];
    const loDown = withWorkload(
      observed,
      'wl-vm1',
      wlVm1.map((l) => (l.name === 'lo' ? { ...l, up: false } : l)),
    );
    // P1 and P4 share wl-vm1: P1, first by id, brings its loopback up, and P4 has nothing to do
    const first = planL2(start, config, loDown);
    expect(first.steps.map((s) => [s.item, s.argv.join(' ')])).toEqual([[`port:${P1}`, 'ip -n wl-vm1 link set dev lo up']]);
    // the same read-back, P1 gone before its step ran: P4 brings it up
    const withoutP1 = withPort(start, P1, () => null);
    expect(planOf(planL2(withoutP1, config, loDown, first.settled))).toEqual(planOf(planL2(withoutP1, config, loDown)));
  });

  it('plans again entries that are not frozen', async () => {
    const observed = await convergedHost(start);
    const { settled } = planL2(start, config, observed);
    // the same values in new objects, which could have changed since: each is parsed and planned again
    const copies: L2HostIntent = { networks: start.networks.map((n) => ({ ...n })), ports: start.ports.map((p) => ({ ...p })) };
    const again = planL2(copies, config, observed, settled);
    expect(again.steps).toEqual([]);
    for (const [id, port] of settled) expect(again.settled.get(id)).not.toBe(port);
  });
});
