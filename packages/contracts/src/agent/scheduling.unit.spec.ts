import { describe, expect, it } from 'vitest';
import { agentCandidates, chooseHaAgents, chooseNetworkAgent, rowsOfWorkloads, type AgentCandidate } from './scheduling';

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

  it('makes candidates of the agents a projection keeps, alive as the heartbeats say', () => {
    const rows = [
      { host: 'a1', row: 'row-a', roles: ['network'], physnets: { extnet0: 'eth1' }, id: 'x' },
      { host: 'a2', row: 'row-a', roles: ['compute'], physnets: {}, id: 'y' },
    ];
    expect(agentCandidates(rows, (host) => host === 'a2')).toEqual([
      { host: 'a1', row: 'row-a', roles: ['network'], physnets: { extnet0: 'eth1' }, alive: false },
      { host: 'a2', row: 'row-a', roles: ['compute'], physnets: {}, alive: true },
    ]);
  });

  describe('HA routers', () => {
    const none = { physicalNetwork: null, preferredRows: [] };
    const hosts = (chosen: readonly AgentCandidate[]) => chosen.map((a) => a.host);

    it("takes two agents in different rows, the workloads' row first", () => {
      expect(hosts(chooseHaAgents(agents, new Map(), { physicalNetwork: null, preferredRows: ['row-a'] }, []))).toEqual(['a1', 'b1']);
      expect(hosts(chooseHaAgents(agents, new Map([['a1', 5]]), { physicalNetwork: null, preferredRows: ['row-a'] }, []))).toEqual(['a2', 'b1']);
    });

    it('takes two hosts of one row when only one row has live network agents, and one alone when there is one', () => {
      expect(
        hosts(
          chooseHaAgents(
            agents.filter((a) => a.row === 'row-a'),
            new Map(),
            none,
            [],
          ),
        ),
      ).toEqual(['a1', 'a2']);
      expect(hosts(chooseHaAgents([agent('b1', 'row-b'), agent('a1', 'row-a', { alive: false })], new Map(), none, []))).toEqual(['b1']);
      expect(chooseHaAgents(agents.slice(3), new Map(), none, [])).toEqual([]);
    });

    it('keeps the hosts it runs on and replaces a dead one, in another row than the survivor', () => {
      const withDead = [...agents, agent('d2', 'row-d')];
      expect(hosts(chooseHaAgents(withDead, new Map(), none, ['a2', 'd1']))).toEqual(['a2', 'b1']);
      // the survivor is never moved, even where the load would say otherwise
      expect(hosts(chooseHaAgents(withDead, new Map([['a2', 9]]), none, ['a2', 'b1']))).toEqual(['a2', 'b1']);
      expect(hosts(chooseHaAgents(withDead, new Map(), none, ['b1']))).toEqual(['b1', 'a1']);
    });
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
