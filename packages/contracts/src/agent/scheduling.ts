/** Where a router or a DHCP server runs: a pure choice among the live network agents. */
export interface AgentCandidate {
  readonly host: string;
  readonly row: string;
  readonly roles: readonly string[];
  readonly physnets: Readonly<Record<string, string>>;
  readonly alive: boolean;
}

/** Agents as the projections keep them (physnets as JSON), as candidates: alive or not by `isAlive`. */
export function agentCandidates(
  agents: readonly { host: string; row: string; roles: readonly string[]; physnets: unknown }[],
  isAlive: (host: string) => boolean,
): AgentCandidate[] {
  return agents.map((a) => ({ host: a.host, row: a.row, roles: a.roles, physnets: a.physnets as Record<string, string>, alive: isAlive(a.host) }));
}

export interface SchedulingNeeds {
  /** The physical network the host must reach (a flat or VLAN external network or served network). */
  readonly physicalNetwork: string | null;
  /** Rows of the hosts where the network's / router's workloads are bound, most frequent first. */
  readonly preferredRows: readonly string[];
}

/**
 * A network-role agent that is alive and can reach the needed physical network; among
 * those, one in the row where the workloads are (traffic stays in the row), the least loaded
 * there, then by host name (deterministic). Null when none qualifies.
 */
export function chooseNetworkAgent<A extends AgentCandidate>(
  candidates: readonly A[],
  loadPerHost: ReadonlyMap<string, number>,
  needs: SchedulingNeeds,
): A | null {
  const eligible = candidates.filter((a) => a.alive && a.roles.includes('network') && (needs.physicalNetwork === null || needs.physicalNetwork in a.physnets));
  const rowRank = (row: string) => {
    const i = needs.preferredRows.indexOf(row);
    return i < 0 ? needs.preferredRows.length : i;
  };
  const sorted = [...eligible].sort(
    (a, b) => rowRank(a.row) - rowRank(b.row) || (loadPerHost.get(a.host) ?? 0) - (loadPerHost.get(b.host) ?? 0) || a.host.localeCompare(b.host),
  );
  return sorted[0] ?? null;
}

/** The rows of the hosts where workloads are bound, most workloads first (then by name). */
export function rowsOfWorkloads(agents: readonly { host: string; row: string }[], boundHosts: readonly string[]): string[] {
  const rowOf = new Map(agents.map((a) => [a.host, a.row]));
  const count = new Map<string, number>();
  for (const host of boundHosts) {
    const row = rowOf.get(host);
    if (row !== undefined) count.set(row, (count.get(row) ?? 0) + 1);
  }
  return [...count.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([row]) => row);
}

/** How many hosts an HA router runs on: one active, one standby. */
export const HA_ROUTER_HOSTS = 2;

/**
 * The hosts of an HA router: those it runs on now that still qualify (alive, network role,
 * the physical network) are kept, so a placement never moves a working instance; the others
 * are replaced, each time by the agent `chooseNetworkAgent` prefers among those in a row
 * the router does not use yet, or, when every live one is in a used row, in any row (two
 * hosts of one row beat one host). Fewer than {@link HA_ROUTER_HOSTS} when not enough agents
 * qualify: like Neutron, an HA router runs on the agents there are (alone, it is active) and
 * gets its standby when another one comes. Deterministic; the kept hosts come first.
 */
export function chooseHaAgents<A extends AgentCandidate>(
  candidates: readonly A[],
  loadPerHost: ReadonlyMap<string, number>,
  needs: SchedulingNeeds,
  current: readonly string[],
): A[] {
  const qualifies = (a: A) => a.alive && a.roles.includes('network') && (needs.physicalNetwork === null || needs.physicalNetwork in a.physnets);
  const chosen: A[] = [];
  for (const host of current) {
    const a = candidates.find((c) => c.host === host);
    if (a !== undefined && qualifies(a) && !chosen.includes(a) && chosen.length < HA_ROUTER_HOSTS) chosen.push(a);
  }
  while (chosen.length < HA_ROUTER_HOSTS) {
    const free = candidates.filter((c) => !chosen.includes(c));
    const usedRows = new Set(chosen.map((c) => c.row));
    const next =
      chooseNetworkAgent(
        free.filter((c) => !usedRows.has(c.row)),
        loadPerHost,
        needs,
      ) ?? chooseNetworkAgent(free, loadPerHost, needs);
    if (next === null) break;
    chosen.push(next);
  }
  return chosen;
}
