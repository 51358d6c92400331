/** Where a router runs: a pure choice among the live network agents. */
export interface L3AgentCandidate {
  readonly host: string;
  readonly row: string;
  readonly roles: readonly string[];
  readonly physnets: Readonly<Record<string, string>>;
  readonly alive: boolean;
}

export interface SchedulingNeeds {
  /** The gateway's physical network, when the external network is flat or VLAN. */
  readonly physicalNetwork: string | null;
  /** Rows of the hosts where the router's tenant ports are bound, most frequent first. */
  readonly preferredRows: readonly string[];
}

/**
 * A network-role agent that is alive and can reach the gateway's physical network; among
 * those, one in the row where the router's workloads are (traffic stays in the row), the
 * least loaded there, then by host name (deterministic). Null when none qualifies.
 */
export function chooseL3Agent(
  candidates: readonly L3AgentCandidate[],
  routersPerHost: ReadonlyMap<string, number>,
  needs: SchedulingNeeds,
): L3AgentCandidate | null {
  const eligible = candidates.filter(
    (a) => a.alive && a.roles.includes('network') && (needs.physicalNetwork === null || needs.physicalNetwork in a.physnets),
  );
  const rowRank = (row: string) => {
    const i = needs.preferredRows.indexOf(row);
    return i < 0 ? needs.preferredRows.length : i;
  };
  const sorted = [...eligible].sort(
    (a, b) =>
      rowRank(a.row) - rowRank(b.row) || (routersPerHost.get(a.host) ?? 0) - (routersPerHost.get(b.host) ?? 0) || a.host.localeCompare(b.host),
  );
  return sorted[0] ?? null;
}
