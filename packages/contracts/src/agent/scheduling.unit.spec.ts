import { describe, expect, it } from 'vitest';
import { chooseNetworkAgent, rowsOfWorkloads, type AgentCandidate } from './scheduling';

describe('network agent placement', () => {
  const agent = (host: string, row: string, extra: Partial<AgentCandidate> = {}): AgentCandidate => ({
    host,
    row,
    roles: ['network'],
    physnets: { extnet0: 'eth1' },
    alive: true,
    ...extra,
  });
  const agents = [
    agent('a1', 'row-a'),
    agent('a2', 'row-a'),
    agent('b1', 'row-b'),
    agent('c1', 'row-c', { roles: ['compute'] }),
    agent('d1', 'row-d', { alive: false }),
  ];

  it('prefers the row of the workloads, then the least loaded, and skips compute-only and dead agents', () => {
    const load = new Map([
      ['a1', 3],
      ['a2', 1],
      ['b1', 0],
    ]);
    expect(chooseNetworkAgent(agents, load, { physicalNetwork: null, preferredRows: ['row-a'] })?.host).toBe('a2');
    expect(chooseNetworkAgent(agents, load, { physicalNetwork: null, preferredRows: [] })?.host).toBe('b1');
    expect(chooseNetworkAgent(agents.slice(3), load, { physicalNetwork: null, preferredRows: [] })).toBeNull();
  });

  it('only places where the needed physical network is mapped', () => {
    const mapped = [agent('a1', 'row-a', { physnets: {} }), agent('b1', 'row-b')];
    expect(chooseNetworkAgent(mapped, new Map(), { physicalNetwork: 'extnet0', preferredRows: ['row-a'] })?.host).toBe('b1');
  });

  it('ranks rows by the workloads bound there', () => {
    const hosts = [
      { host: 'a1', row: 'row-a' },
      { host: 'b1', row: 'row-b' },
      { host: 'b2', row: 'row-b' },
    ];
    expect(rowsOfWorkloads(hosts, ['a1', 'b1', 'b2', 'gone'])).toEqual(['row-b', 'row-a']);
    expect(rowsOfWorkloads(hosts, ['b1', 'a1'])).toEqual(['row-a', 'row-b']);
    expect(rowsOfWorkloads(hosts, [])).toEqual([]);
  });
});
