import { DESIRED_KINDS, desiredKey, Naming, type RecordedEvent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { filteringUnchangedBy } from './intents';

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
