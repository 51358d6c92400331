/** Where a router or a DHCP server runs: a pure choice among the live network agents. */
export interface AgentCandidate {
  readonly host: string;
  readonly row: string;
  readonly roles: readonly string[];
  readonly physnets: Readonly<Record<string, string>>;
  readonly alive: boolean;
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
