/** An agent in Neutron's wire shape, as the scheduler extensions (l3-agents, dhcp-agents) show it. */
export interface AgentWireInput {
  readonly id: string;
  readonly host: string;
  readonly row: string;
  readonly agentType: string;
  readonly topic: string;
  readonly alive: boolean;
  readonly heartbeat: Date | undefined;
  readonly configurations: Record<string, unknown>;
}

/** Neutron writes heartbeats as `2026-11-22 07:29:02` (UTC, no zone). */
export function neutronHeartbeat(at: Date | undefined): string | null {
  return at
    ? at
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, '')
    : null;
}

export function agentWire(a: AgentWireInput): Record<string, unknown> {
  return {
    id: a.id,
    agent_type: a.agentType,
    binary: 'ncp-agent',
    topic: a.topic,
    host: a.host,
    row: a.row,
    admin_state_up: true,
    alive: a.alive,
    heartbeat_timestamp: neutronHeartbeat(a.heartbeat),
    configurations: a.configurations,
  };
}
