import { DESIRED_KINDS, desiredKey, Naming, type RecordedEvent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { factsOf, portFacts, ruleFacts } from '../domain/__fixtures__/facts';
import { filteringEntries, type GroupFacts, type PortFacts, type RuleFacts } from '../domain/host-intents';
import { FilteringState, filteringChangesOf, filteringUnchangedBy, type FilteringReader } from './intents';

describe('whether a batch leaves the filtering entries as published', () => {
  const naming = new Naming({ prefix: 't1' });
  const event = (context: string, aggregate: string, type: string, data: object = {}) =>
    ({ subject: naming.eventSubject(context, aggregate, 'x1'), sequence: 1, envelope: { type, data } }) as unknown as RecordedEvent;
  const created = (bindingHostId: string, securityGroups: string[]) => event('ipam', 'network', 'PortCreated', { portId: 'p1', bindingHostId, securityGroups });
  // h1 filters a port in group g1, whose rules name g2 as remote group
  const published = new Map([
    [desiredKey('row-a', 'h1', DESIRED_KINDS.sgPort, 'p0'), '{}'],
    [desiredKey('row-a', 'h1', DESIRED_KINDS.sgGroup, 'g1'), '{}'],
    [desiredKey('row-a', 'h1', DESIRED_KINDS.sgMembers, 'g2'), '{}'],
  ]);

  it('for ports created unbound in groups no entry lists the members of, and statuses', () => {
    expect(
      filteringUnchangedBy(
        naming,
        [created('', ['g1']), created('', []), event('ipam', 'network', 'PortStatusChanged', { portId: 'p0', status: 'ACTIVE' })],
        published,
      ),
    ).toBe(true);
    expect(filteringUnchangedBy(naming, [], published)).toBe(true);
  });

  it('not for a port created bound, or in a group whose members an entry lists', () => {
    expect(filteringUnchangedBy(naming, [created('h2', [])], published)).toBe(false);
    expect(filteringUnchangedBy(naming, [created('', ['g1', 'g2'])], published)).toBe(false);
    expect(filteringUnchangedBy(naming, [created('', ['g1']), created('', ['g2'])], published)).toBe(false);
  });

  it('not for a port updated or deleted, a subnet, a group, a rule or an agent', () => {
    expect(filteringUnchangedBy(naming, [event('ipam', 'network', 'PortUpdated', { portId: 'p1', changes: { name: 'web' } })], published)).toBe(false);
    expect(filteringUnchangedBy(naming, [event('ipam', 'network', 'PortDeleted', { portId: 'p1', fixedIps: [] })], published)).toBe(false);
    expect(filteringUnchangedBy(naming, [event('ipam', 'network', 'SubnetCreated')], published)).toBe(false);
    expect(filteringUnchangedBy(naming, [event('sg', 'group', 'SecurityGroupRuleCreated')], published)).toBe(false);
    expect(filteringUnchangedBy(naming, [event('agent', 'agent', 'AgentRegistered')], published)).toBe(false);
  });
});

describe('the rows a batch may have changed', () => {
  const recorded = (aggregate: string, aggregateId: string, type: string, data: object) =>
    ({
      subject: 'x',
      sequence: 1,
      envelope: { aggregate, aggregateId, type, data, actor: 'a', occurredAt: '2026-01-01T00:00:00Z' },
    }) as unknown as RecordedEvent;

  it("names ports and agents by the fact mirror's keys and groups by id, and nothing for a status", () => {
    const changed = filteringChangesOf([
      recorded('network', 'n1', 'PortCreated', { portId: 'p1', projectId: 'x', securityGroups: [] }),
      recorded('network', 'n1', 'PortUpdated', { portId: 'p2', changes: { bindingHostId: 'h1' } }),
      recorded('network', 'n1', 'PortStatusChanged', { portId: 'p3', status: 'ACTIVE' }),
      recorded('network', 'n1', 'SubnetCreated', { subnetId: 's1', projectId: 'x', autoAddresses: [{ portId: 'p4', ipAddress: '2001:db8::4' }] }),
      recorded('network', 'n2', 'NetworkDeleted', { subnets: [{ subnetId: 's2' }], portIds: ['p5'], rbacPolicyIds: [] }),
      recorded('agent', 'a1', 'AgentRegistered', { host: 'h1', row: 'r1', roles: [], tunnelIp: '192.0.2.1', physnets: {} }),
      recorded('group', 'g1', 'SecurityGroupRulesAdded', { rules: [] }),
      recorded('group', 'g1', 'SecurityGroupUpdated', { changes: { name: 'web' } }),
    ]);
    expect(changed.sort()).toEqual(['agent:h1', 'group:g1', 'port:p1', 'port:p2', 'port:p4', 'port:p5']);
  });
});

describe("the service's copy of the filtering facts", () => {
  const G1 = 'g1';
  const G2 = 'g2';
  const port = (id: string, over: Partial<PortFacts> = {}): PortFacts => portFacts(id, { securityGroups: [G1], ...over });
  const rule = (id: string, securityGroupId: string, remoteGroupId: string | null): RuleFacts & { id: string } => ({
    id,
    ...ruleFacts(securityGroupId, { remoteGroupId }),
  });

  /** The projection's tables, and a reader over them that records what it was asked for. */
  function database() {
    const db = {
      ports: new Map<string, PortFacts>(),
      groups: new Map<string, GroupFacts>(),
      rules: new Map<string, RuleFacts & { id: string }>(),
      agents: new Map<string, string>(),
    };
    const asked: string[] = [];
    const pick = <T>(rows: Iterable<T>, ids: readonly string[] | undefined, idOf: (row: T) => string) =>
      [...rows].filter((r) => ids === undefined || ids.includes(idOf(r))).map((r) => structuredClone(r));
    const reader: FilteringReader = {
      ports: async (ids) => (asked.push(`ports ${ids?.join(',') ?? 'all'}`), pick(db.ports.values(), ids, (p) => p.id)),
      groups: async (ids) => (asked.push(`groups ${ids?.join(',') ?? 'all'}`), pick(db.groups.values(), ids, (g) => g.id)),
      rules: async (ids) =>
        pick(
          [...db.rules.values()].sort((a, b) => a.id.localeCompare(b.id)),
          ids,
          (r) => r.securityGroupId,
        ),
      agents: async (hosts) =>
        pick(
          [...db.agents].map(([host, row]) => ({ host, row })),
          hosts,
          (a) => a.host,
        ),
    };
    const whole = () =>
      filteringEntries(
        factsOf(
          [...db.ports.values()],
          [...db.groups.values()],
          [...db.rules.values()].sort((a, b) => a.id.localeCompare(b.id)),
          db.agents,
        ),
      );
    return { db, reader, asked, whole };
  }

  it('reads again only the rows a pass names, and gives after each change the entries made from every row', async () => {
    const { db, reader, asked, whole } = database();
    db.agents.set('h1', 'r1');
    db.groups.set(G1, { id: G1, stateful: true });
    db.groups.set(G2, { id: G2, stateful: true });
    db.rules.set('r-1', rule('r-1', G1, G1));
    for (let i = 1; i <= 20; i++) db.ports.set(`p${i}`, port(`p${i}`));
    const state = new FilteringState(reader);
    expect(await state.entries('all')).toEqual(whole());

    const steps: [string, string[], () => void][] = [
      ['a member joins', ['port:p21'], () => db.ports.set('p21', port('p21', { bindingHostId: '' }))],
      ['a port is bound to another host', ['port:p2'], () => db.ports.set('p2', port('p2', { bindingHostId: 'h2' }))],
      ['that host registers', ['agent:h2'], () => db.agents.set('h2', 'r2')],
      ['a port changes groups', ['port:p3'], () => db.ports.set('p3', port('p3', { securityGroups: [G2] }))],
      ['a rule names another remote group', ['group:g2'], () => db.rules.set('r-2', rule('r-2', G2, G1))],
      ['a group becomes stateless', ['group:g1'], () => db.groups.set(G1, { id: G1, stateful: false })],
      [
        'an address pair is added',
        ['port:p4'],
        () => db.ports.set('p4', port('p4', { allowedAddressPairs: [{ ipAddress: '10.9.0.0/24', macAddress: 'fa:16:3e:00:00:09' }] })),
      ],
      ['a rule is removed', ['group:g1'], () => db.rules.delete('r-1')],
      ['ports are deleted', ['port:p1', 'port:p3'], () => (db.ports.delete('p1'), db.ports.delete('p3'))],
      ['a group is deleted', ['group:g2'], () => (db.groups.delete(G2), db.rules.delete('r-2'))],
      ['an agent moves rows', ['agent:h1'], () => db.agents.set('h1', 'r9')],
      ["an agent's row is gone", ['agent:h2'], () => db.agents.delete('h2')],
    ];
    for (const [step, changed, change] of steps) {
      change();
      asked.length = 0;
      expect(await state.entries(new Set(changed)), step).toEqual(whole());
      // nothing but the rows named is read
      expect(
        asked.every((a) => !a.endsWith(' all')),
        step,
      ).toBe(true);
    }
  });

  it('keeps what it had when a read fails, and reads everything for a whole pass', async () => {
    const { db, reader, asked, whole } = database();
    db.agents.set('h1', 'r1');
    db.groups.set(G1, { id: G1, stateful: true });
    db.ports.set('p1', port('p1'));
    const state = new FilteringState(reader);
    const before = await state.entries('all');
    db.ports.set('p1', port('p1', { fixedIps: [{ ipAddress: '10.0.0.99' }] }));
    db.ports.set('p2', port('p2'));
    const failing: FilteringReader = { ...reader, ports: () => Promise.reject(new Error('gone')) };
    await expect(new FilteringState(failing).entries('all')).rejects.toThrow('gone');
    // a row not named is not read again; a whole pass reads it
    expect(await state.entries(new Set(['port:p2']))).not.toEqual(whole());
    expect(before.size).toBeGreaterThan(0);
    asked.length = 0;
    expect(await state.entries('all')).toEqual(whole());
    expect(asked).toContain('ports all');
  });
});
