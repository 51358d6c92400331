import { describe, expect, it } from 'vitest';
import { type EventEnvelope, type RecordedEvent } from '@ncp/contracts';
import { factPort } from '@ncp/testing';
import { networkCreated, vxlan } from '../domain/__fixtures__/ipam';
import { L2Topology, type L2TopologyJson } from './l2-topology';

/**
 * The desired-state calculation must not depend on how the stream reaches it: events
 * reversed across aggregates, duplicated, or split into batches give the same intents.
 */
const NET_A = '11111111-0000-4000-8000-000000000001';
const NET_B = '11111111-0000-4000-8000-000000000002';
const PORT_1 = '22222222-0000-4000-8000-000000000001';
const PORT_2 = '22222222-0000-4000-8000-000000000002';
const PORT_3 = '22222222-0000-4000-8000-000000000003';

let seq = 0;
function ev(aggregate: 'network' | 'agent', aggregateId: string, type: string, data: unknown): RecordedEvent {
  seq++;
  const envelope: EventEnvelope = {
    id: `e${seq}`,
    type,
    schemaVersion: 1,
    aggregate,
    aggregateId,
    occurredAt: '2026-01-01T00:00:00Z',
    correlationId: 'c',
    causationId: null,
    projectId: 'p',
    actor: 'a',
    data,
  };
  return { envelope, sequence: seq, subject: `ev.${aggregate === 'agent' ? 'agent' : 'ipam'}.${aggregate}.${aggregateId}` };
}

const port = (portId: string, mac: string, host: string, extra: Record<string, unknown> = {}) =>
  factPort(portId, [], { macAddress: mac, deviceOwner: '', deviceId: '', bindingHostId: host, bindingProfile: extra });
const network = (vni: number) => networkCreated({ projectId: 'p', segment: vxlan(vni), name: '' }).data;
const agent = (row: string, host: string, tunnelIp: string) => ({
  row,
  host,
  roles: ['compute'],
  tunnelIp,
  physnets: {},
  version: '1',
  startedAt: '2026-01-01T00:00:00Z',
});

function history(): RecordedEvent[] {
  seq = 0;
  return [
    ev('network', NET_A, 'NetworkCreated', network(100)),
    ev('network', NET_B, 'NetworkCreated', network(101)),
    ev('agent', 'agent-a', 'AgentRegistered', agent('row-a', 'host-a1', '10.1.0.2')),
    ev('network', NET_A, 'PortCreated', port(PORT_1, 'fa:16:3e:00:00:01', 'host-a1', { netns: 'wl-1' })),
    ev('network', NET_A, 'PortCreated', port(PORT_2, 'fa:16:3e:00:00:02', 'host-b1')),
    ev('agent', 'agent-b', 'AgentRegistered', agent('row-b', 'host-b1', '10.2.0.2')),
    ev('network', NET_B, 'PortCreated', port(PORT_3, 'fa:16:3e:00:00:03', '')),
    ev('network', NET_B, 'PortUpdated', { portId: PORT_3, changes: { bindingHostId: 'host-a1' } }),
    ev('network', NET_A, 'PortUpdated', { portId: PORT_2, changes: { macAddress: 'fa:16:3e:00:00:22' } }),
    ev('agent', 'agent-b', 'AgentRegistered', agent('row-b', 'host-b1', '10.2.0.9')),
  ];
}

const intents = (t: L2Topology) => ({ a: t.intentFor('host-a1'), b: t.intentFor('host-b1') });

function fold(events: readonly RecordedEvent[]): L2Topology {
  const t = new L2Topology();
  for (const e of events) t.apply(e);
  return t;
}

/** Another interleaving: each aggregate's own events stay in order (JetStream keeps that). */
function interleaveReversed(events: readonly RecordedEvent[]): RecordedEvent[] {
  const bySubject = new Map<string, RecordedEvent[]>();
  for (const e of events) bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e]);
  return [...bySubject.values()].reverse().flat();
}

/** A topology of network A, host-a1's agent, and PORT_1 plugged there. */
function hostA1WithPort1(): L2Topology {
  seq = 0;
  const t = new L2Topology();
  t.apply(ev('network', NET_A, 'NetworkCreated', network(100)));
  t.apply(ev('agent', 'agent-a', 'AgentRegistered', agent('row-a', 'host-a1', '10.1.0.2')));
  t.apply(ev('network', NET_A, 'PortCreated', port(PORT_1, 'fa:16:3e:00:00:01', 'host-a1')));
  return t;
}

describe('L2 desired-state calculation', () => {
  it('gives each host its ports, its networks and the other hosts as flood list', () => {
    const { a, b } = intents(fold(history()));
    expect(a.ports.map((p) => [p.id, p.workload])).toEqual([
      [PORT_1, { netns: 'wl-1', ifname: 'eth0' }],
      // Without binding:profile netns, a namespace named after the port.
      [PORT_3, { netns: 'wl-22222222000', ifname: 'eth0' }],
    ]);
    const netA = a.networks.find((n) => n.id === NET_A);
    expect(netA?.floodList).toEqual(['10.2.0.9']);
    expect(netA?.remoteMacs).toEqual([{ mac: 'fa:16:3e:00:00:22', tunnelIp: '10.2.0.9' }]);
    expect(a.networks.find((n) => n.id === NET_B)?.floodList).toEqual([]);
    expect(b.networks.map((n) => n.id)).toEqual([NET_A]);
    expect(b.networks[0]?.floodList).toEqual(['10.1.0.2']);
  });

  it('does not depend on interleaving, duplicates or batching', () => {
    const events = history();
    const expected = intents(fold(events));
    expect(intents(fold(interleaveReversed(events)))).toEqual(expected);
    expect(intents(fold(events.flatMap((e) => [e, e])))).toEqual(expected);
    // Split into batches with intents computed in between (as the publisher does).
    const t = new L2Topology();
    for (const [i, e] of events.entries()) {
      t.apply(e);
      if (i % 3 === 0) intents(t);
    }
    expect(intents(t)).toEqual(expected);
    // Replaying everything again (a restart that re-reads the stream) changes nothing.
    for (const e of events) t.apply(e);
    expect(intents(t)).toEqual(expected);
  });

  it('plugs a port on every host its binding profile lists, found there by flooding, not by a pinned MAC', () => {
    const PORT_HA = '22222222-0000-4000-8000-0000000000aa';
    const haPort = port(PORT_HA, 'fa:16:3e:00:00:aa', 'host-a1', { netns: 'qrouter-1', ifname: 'qr-1', hosts: ['host-a1', 'host-b1', 'bad host'] });
    const t = fold([...history(), ev('network', NET_B, 'PortCreated', haPort)]);
    const { a, b } = intents(t);
    for (const host of [a, b]) {
      expect(host.ports.find((p) => p.id === PORT_HA)?.workload).toEqual({ netns: 'qrouter-1', ifname: 'qr-1' });
      expect(host.networks.find((n) => n.id === NET_B)?.remoteMacs.some((m) => m.mac === 'fa:16:3e:00:00:aa')).toBe(false);
    }
    expect(a.networks.find((n) => n.id === NET_B)?.floodList).toEqual(['10.2.0.9']);
    expect(b.networks.find((n) => n.id === NET_B)?.floodList).toEqual(['10.1.0.2']);
    // the profile without the second host: unplugged there, and a pinned MAC again
    const dirty = t.apply(ev('network', NET_B, 'PortUpdated', { portId: PORT_HA, changes: { bindingProfile: { netns: 'qrouter-1', ifname: 'qr-1' } } }));
    expect([...dirty].sort()).toEqual(['host-a1', 'host-b1']);
    expect(t.intentFor('host-b1').ports.some((p) => p.id === PORT_HA)).toBe(false);
    expect(t.intentFor('host-b1').networks.find((n) => n.id === NET_B)).toBeUndefined();
    // a snapshot folds to the same
    const restored = L2Topology.fromJSON(JSON.parse(JSON.stringify(t.toJSON())) as L2TopologyJson);
    expect(intents(restored)).toEqual(intents(t));
  });

  it('reports which hosts a change touches', () => {
    const events = history();
    const t = fold(events.slice(0, 6));
    // Moving a port between hosts touches both, and every host sharing its network.
    const dirty = t.apply(ev('network', NET_A, 'PortUpdated', { portId: PORT_1, changes: { bindingHostId: 'host-b1' } }));
    expect([...dirty].sort()).toEqual(['host-a1', 'host-b1']);
    expect(t.intentFor('host-a1').ports).toEqual([]);
    // A network's deletion empties it everywhere.
    t.apply(ev('network', NET_A, 'NetworkDeleted', { subnets: [], portIds: [] }));
    expect(t.intentFor('host-b1')).toEqual({ networks: [], ports: [] });
  });

  it("patching each dirty host with the entries of the networks and ports a change touched gives the host's whole intent", () => {
    const events = [
      ...history(),
      ev('network', NET_A, 'PortUpdated', { portId: PORT_1, changes: { bindingHostId: 'host-b1' } }),
      ev('network', NET_A, 'PortCreated', port('22222222-0000-4000-8000-000000000004', 'fa:16:3e:00:00:04', 'host-a1')),
      ev('network', NET_B, 'PortDeleted', { portId: PORT_3 }),
      ev('network', NET_A, 'NetworkUpdated', { changes: { mtu: 1400 } }),
      ev('network', NET_A, 'PortUpdated', { portId: PORT_2, changes: { adminStateUp: false } }),
      ev('network', NET_B, 'NetworkDeleted', { subnets: [], portIds: [] }),
    ];
    const entries = (intent: ReturnType<L2Topology['intentFor']>): Map<string, string> =>
      new Map([
        ...intent.networks.map((n) => [`net ${n.id}`, JSON.stringify(n)] as const),
        ...intent.ports.map((p) => [`port ${p.id}`, JSON.stringify(p)] as const),
      ]);
    const hosts = ['host-a1', 'host-b1'];
    const t = new L2Topology();
    const published = new Map(hosts.map((h) => [h, new Map<string, string>()]));
    for (const e of events) {
      const dirty = t.apply(e);
      const changes = t.takeChanges();
      for (const host of dirty) {
        const now = published.get(host) ?? new Map<string, string>();
        if (changes === 'all') {
          published.set(host, entries(t.intentFor(host)));
          continue;
        }
        const wanted = entries(t.intentOf(host, changes));
        for (const key of [...[...changes.networks].map((id) => `net ${id}`), ...[...changes.ports].map((id) => `port ${id}`)]) {
          const value = wanted.get(key);
          if (value === undefined) now.delete(key);
          else now.set(key, value);
        }
      }
      for (const host of hosts)
        expect(new Map([...(published.get(host) ?? [])].sort()), `${e.envelope.type} on ${host}`).toEqual(new Map([...entries(t.intentFor(host))].sort()));
    }
    expect(t.intentFor('host-b1').ports.map((p) => p.id)).toEqual([PORT_1, PORT_2]);
  });

  it('counts the hosts of a network by their ports: a host stays while one of its ports does', () => {
    const t = fold(history().slice(0, 3));
    const dirty = (e: RecordedEvent) => [...t.apply(e)].sort();
    const p = (n: number) => `33333333-0000-4000-8000-00000000000${n}`;
    expect(dirty(ev('network', NET_A, 'PortCreated', port(p(1), 'fa:16:3e:00:01:01', 'host-a1')))).toEqual(['host-a1']);
    expect(dirty(ev('network', NET_A, 'PortCreated', port(p(2), 'fa:16:3e:00:01:02', 'host-a1')))).toEqual(['host-a1']);
    expect(dirty(ev('network', NET_A, 'PortCreated', port(p(3), 'fa:16:3e:00:01:03', 'host-b1')))).toEqual(['host-a1', 'host-b1']);
    // an unbound port on another network concerns nobody
    expect(dirty(ev('network', NET_B, 'PortCreated', port(p(4), 'fa:16:3e:00:01:04', '')))).toEqual([]);
    // host-a1 keeps one port after the first one is deleted...
    expect(dirty(ev('network', NET_A, 'PortDeleted', { portId: p(1), fixedIps: [] }))).toEqual(['host-a1', 'host-b1']);
    // ...and is no longer on the network once its second one moves away
    expect(dirty(ev('network', NET_A, 'PortUpdated', { portId: p(2), changes: { bindingHostId: 'host-b1' } }))).toEqual(['host-a1', 'host-b1']);
    expect(dirty(ev('network', NET_A, 'PortUpdated', { portId: p(3), changes: { name: 'x' } }))).toEqual(['host-b1']);
    expect(dirty(ev('network', NET_A, 'PortUpdated', { portId: p(2), changes: { bindingHostId: '' } }))).toEqual(['host-b1']);
    expect(dirty(ev('network', NET_A, 'PortDeleted', { portId: p(3), fixedIps: [] }))).toEqual(['host-b1']);
    expect(dirty(ev('network', NET_A, 'PortUpdated', { portId: p(2), changes: { name: 'y' } }))).toEqual([]);
  });

  it('restarts from a snapshot at any point with the same result as one fold from the start', () => {
    const events = history();
    const expected = intents(fold(events));
    for (let cut = 0; cut <= events.length; cut++) {
      // through JSON, as it is stored: what a restart after event `cut` loads, then the rest
      const restored = L2Topology.fromJSON(JSON.parse(JSON.stringify(fold(events.slice(0, cut)).toJSON())) as L2TopologyJson);
      for (const e of events.slice(cut)) restored.apply(e);
      expect(intents(restored), `snapshot after ${cut} events`).toEqual(expected);
      // and the later moves touch the same hosts as in a fold that never stopped
      const moved = ev('network', NET_A, 'PortUpdated', { portId: PORT_2, changes: { bindingHostId: 'host-a1' } });
      const live = fold(events);
      expect([...restored.apply(moved)].sort()).toEqual([...live.apply(moved)].sort());
    }
  });

  it('marks a port filtered while it has port security and is not a trusted network: port', () => {
    const t = hostA1WithPort1();
    t.apply(ev('network', NET_A, 'PortCreated', { ...port(PORT_2, 'fa:16:3e:00:00:02', 'host-a1'), deviceOwner: 'network:dhcp' }));
    const filtered = () => t.intentFor('host-a1').ports.map((p) => [p.id, p.filtered]);
    expect(filtered()).toEqual([
      [PORT_1, true],
      [PORT_2, false],
    ]);
    t.apply(ev('network', NET_A, 'PortUpdated', { portId: PORT_1, changes: { portSecurityEnabled: false, securityGroups: [] } }));
    expect(filtered()[0]).toEqual([PORT_1, false]);
  });

  it("hands out a port's intent, frozen, as the same object until an event changes that port", () => {
    const t = hostA1WithPort1();
    t.apply(ev('network', NET_A, 'PortCreated', port(PORT_2, 'fa:16:3e:00:00:02', 'host-a1')));
    const [one, two] = t.intentFor('host-a1').ports;
    expect(Object.isFrozen(one) && Object.isFrozen(one?.workload)).toBe(true);
    t.apply(ev('network', NET_A, 'PortUpdated', { portId: PORT_2, changes: { macAddress: 'fa:16:3e:00:00:22' } }));
    const [oneAgain, twoAgain] = t.intentFor('host-a1').ports;
    expect(oneAgain).toBe(one);
    expect(twoAgain).not.toBe(two);
    expect(twoAgain?.mac).toBe('fa:16:3e:00:00:22');
    t.apply(ev('network', NET_A, 'PortDeleted', { portId: PORT_1 }));
    t.apply(ev('network', NET_A, 'PortCreated', port(PORT_1, 'fa:16:3e:00:00:11', 'host-a1')));
    expect(t.intentFor('host-a1').ports[0]?.mac).toBe('fa:16:3e:00:00:11');
  });
});
