import { type AgentHeartbeat } from '@ncp/contracts';

/** What `netctl agents` shows of each agent. Pure. */

export interface Registration {
  readonly agentId: string;
  readonly row: string;
  readonly host: string;
  readonly roles: readonly string[];
  readonly version: string;
  readonly startedAt: string;
}

export interface ReportedStatus {
  readonly host: string;
  readonly kind: string;
  readonly id: string;
  readonly status: string;
  readonly reason: string;
}

export interface AgentRow {
  readonly row: string;
  readonly host: string;
  readonly roles: readonly string[];
  readonly alive: boolean;
  readonly heartbeatAgeSeconds: number | null;
  readonly lastReconcile: AgentHeartbeat['lastReconcile'] | null;
  /** resources whose latest status from this agent is ERROR */
  readonly errors: readonly { kind: string; id: string; reason: string }[];
  readonly startedAt: string;
}

/**
 * Rows from each agent's latest registration, its heartbeat (alive when younger than
 * `downSeconds`) and the latest status it reported of each resource, in report order.
 */
export function agentRows(
  registrations: readonly Registration[],
  heartbeats: ReadonlyMap<string, AgentHeartbeat>,
  statuses: readonly ReportedStatus[],
  now: number,
  downSeconds: number,
): AgentRow[] {
  const latest = new Map<string, Registration>();
  for (const r of registrations) latest.set(`${r.row}.${r.host}`, r);
  const lastStatus = new Map<string, ReportedStatus>();
  for (const s of statuses) lastStatus.set(`${s.host}|${s.kind}|${s.id}`, s);
  return [...latest.values()]
    .sort((a, b) => a.row.localeCompare(b.row) || a.host.localeCompare(b.host))
    .map((r) => {
      const beat = heartbeats.get(`${r.row}.${r.host}`);
      const age = beat ? Math.max(0, Math.round((now - Date.parse(beat.at)) / 1000)) : null;
      return {
        row: r.row,
        host: r.host,
        roles: r.roles,
        alive: age !== null && age < downSeconds,
        heartbeatAgeSeconds: age,
        lastReconcile: beat?.lastReconcile ?? null,
        errors: [...lastStatus.values()].filter((s) => s.host === r.host && s.status === 'ERROR').map((s) => ({ kind: s.kind, id: s.id, reason: s.reason })),
        startedAt: r.startedAt,
      };
    });
}
