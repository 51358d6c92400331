import { type RouterIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { argvNamespace } from '../argv.js';
import { FakeRouterKernel } from './__fixtures__/fake-router-kernel.js';
import { F1, F2, NS1, QG, QR, router1 } from './__fixtures__/intent.js';
import { applyL3 } from './apply.js';
import { addressEffect, afterEffects } from './effects.js';
import { observeL3 } from './observe.js';
import { type ObservedRouterNs } from './observed.js';
import { planL3 } from './plan.js';

/** A namespace with each link's addresses as a set: the kernel lists them in an order of its own. */
const comparable = (ns: ObservedRouterNs) => ({
  ...ns,
  links: ns.links.map((l) => ({ ...l, addresses: [...l.addresses].sort((a, b) => a.cidr.localeCompare(b.cidr)) })),
});

/** Runs one pass from a fresh read: what the steps' effects predict, and what a read finds after them. */
async function step(kernel: FakeRouterKernel, intent: RouterIntent) {
  const before = await observeL3([intent], kernel);
  const plan = planL3([intent], before);
  const results = await applyL3(plan.steps, kernel);
  expect(results.every((r) => r.ok)).toBe(true);
  const steps = plan.steps.filter((s) => argvNamespace(s.argv) === NS1);
  const state = before.routers[NS1];
  if (state === undefined) throw new Error('namespace not read');
  const after = (await observeL3([intent], kernel)).routers[NS1];
  const predicted = afterEffects(
    state,
    steps.map((s) => s.effect),
  );
  return {
    steps: steps.map((s) => s.argv.slice(s.argv.indexOf(NS1) + 1).join(' ')),
    predicted: predicted && comparable(predicted),
    after: after && comparable(after),
  };
}

describe("the L3 steps' effects", () => {
  it('predict what a read finds after floating IPs come, go and move, and after the NAT table goes', async () => {
    const kernel = new FakeRouterKernel();
    kernel.plug(NS1, QR);
    kernel.plug(NS1, QG);
    const noFips: RouterIntent = { ...router1, floatingIps: [] };
    // the first pass sets the namespace up: routes and sysctls have no effect to predict by
    expect((await step(kernel, noFips)).predicted).toBeUndefined();

    const added = await step(kernel, router1);
    expect(added.steps).toEqual([
      'nft -f -',
      `addr add 10.0.2.215/32 dev ${QG}`,
      `arping -U -c 1 -I ${QG} 10.0.2.215`,
      `addr add 10.0.2.216/32 dev ${QG}`,
      `arping -U -c 1 -I ${QG} 10.0.2.216`,
    ]);
    expect(added.predicted).toEqual(added.after);

    const moved: RouterIntent = { ...router1, floatingIps: router1.floatingIps.map((f) => (f.id === F1 ? { ...f, fixedIp: '172.16.100.12' } : f)) };
    const remapped = await step(kernel, moved);
    expect(remapped.steps).toEqual(['nft -f -', 'conntrack -D -d 10.0.2.215', 'conntrack -D -q 10.0.2.215']);
    expect(remapped.predicted).toEqual(remapped.after);

    const oneLess: RouterIntent = { ...moved, floatingIps: moved.floatingIps.filter((f) => f.id !== F2) };
    const removed = await step(kernel, oneLess);
    expect(removed.steps).toEqual([`addr del 10.0.2.216/32 dev ${QG}`, 'nft -f -', 'conntrack -D -d 10.0.2.216', 'conntrack -D -q 10.0.2.216']);
    expect(removed.predicted).toEqual(removed.after);

    const noNat: RouterIntent = { ...oneLess, snat: [], floatingIps: [] };
    const dropped = await step(kernel, noNat);
    expect(dropped.steps).toContain('nft delete table inet ncp_router');
    expect(dropped.predicted).toEqual(dropped.after);
    expect(dropped.after?.ruleset).toBeNull();
  });

  it('are known only for IPv4 /32 addresses, which bring no route and no duplicate address detection', () => {
    expect(addressEffect(QG, '10.0.2.215/32', true)).toEqual({ kind: 'address', link: QG, cidr: '10.0.2.215/32', add: true });
    expect(addressEffect(QG, '10.0.2.211/24', true)).toBeUndefined();
    expect(addressEffect(QG, '2001:db8::5/128', true)).toBeUndefined();
  });

  it('leave a namespace to be read when a step has none or concerns a link that is not there', () => {
    const ns: ObservedRouterNs = { links: [{ name: QG, up: true, addresses: [] }], routes: [], sysctl: {}, ruleset: null };
    expect(afterEffects(ns, [addressEffect(QG, '10.0.2.215/32', true), undefined])).toBeUndefined();
    expect(afterEffects(ns, [addressEffect('qg-gone', '10.0.2.215/32', true)])).toBeUndefined();
    expect(afterEffects(ns, [])).toEqual(ns);
  });
});
