/**
 * Desired state goes to agents through a JetStream KV bucket; keys are
 * `<row>.<host>.<kind>.<id>` so an agent watches `<row>.<host>.>` and nothing else.
 */
export const DESIRED_STATE_BUCKET = 'ncp_desired';
/** Heartbeats: key `<row>.<host>`, value { agentId, at }. */
export const AGENT_HEARTBEAT_BUCKET = 'ncp_agents';
/** Leader leases of a service's replicas: bucket `ncp_leases_<context>`, value the holder's instance id; entries expire (the TTL). */
export const LEASE_BUCKET = 'ncp_leases';
/** Replies to the commands a service took with an idempotency key: bucket `ncp_commands_<context>`, key `<verb>.<key>`; entries expire. */
export const COMMAND_REPLIES_BUCKET = 'ncp_commands';

export const DESIRED_KINDS = {
  l2Network: 'l2net',
  l2Port: 'l2port',
  router: 'router',
  dhcp: 'dhcp',
  ra: 'ra',
  bgp: 'bgp',
  metadata: 'meta',
  /** a filtered port this host plugs (SgPortIntent), by port id */
  sgPort: 'sgport',
  /** a security group of those ports, with its rules (SgGroupIntent), by group id */
  sgGroup: 'sggroup',
  /** the member addresses of a group those rules name as remote group (SgMembersIntent), by group id */
  sgMembers: 'sgmem',
} as const;
export type DesiredKind = (typeof DESIRED_KINDS)[keyof typeof DESIRED_KINDS];

export function desiredKey(row: string, host: string, kind: DesiredKind, id: string): string {
  return `${row}.${host}.${kind}.${id}`;
}

export function parseDesiredKey(key: string): { row: string; host: string; kind: string; id: string } | null {
  const [row, host, kind, id, ...rest] = key.split('.');
  if (!row || !host || !kind || !id || rest.length > 0) return null;
  return { row, host, kind, id };
}

export interface AgentHeartbeat {
  readonly agentId: string;
  readonly at: string;
  /** the agent's last full pass: when it ended, how long it took, the items that failed */
  readonly lastReconcile?: { readonly at: string; readonly ms: number; readonly failed: readonly string[] };
}
