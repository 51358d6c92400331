import { z } from 'zod';
import { isValidCidr, isValidIp, parseCidr, parseIp } from '@ncp/netaddr';
import { stableUuid } from '../stable-id';
import { defineEvent, type EventsOf } from '../event-registry';
import { type CommandMetadata, type RecordedEvent } from '../envelope';

/**
 * Events host agents write about themselves, on `ev.agent.agent.<agentId>`: who they
 * are (on every start) and what they found when applying their desired state.
 */
export const AGENT_CONTEXT = 'agent';
export const AGENT_AGGREGATE = 'agent';

export const agentRole = z.enum(['compute', 'network', 'bgp']);
export type AgentRole = z.infer<typeof agentRole>;

/** Rows and hosts name KV keys and subjects: one token each. */
export const agentNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only');

export const AgentRegistered = defineEvent(
  'AgentRegistered',
  z.object({
    row: agentNameSchema,
    host: agentNameSchema,
    roles: z.array(agentRole),
    tunnelIp: z.string(),
    physnets: z.record(z.string(), z.string()),
    version: z.string(),
    startedAt: z.string(),
  }),
);

const uint32 = z.number().int().min(0).max(4294967295);

/** At most this many learned routes in one session's report (what the agent's BGP driver bounds them to). */
export const MAX_LEARNED_ROUTES_REPORTED = 256;

/** A route a speaker learned from a peer: destination and next hop of one family, in their normal form. */
export const bgpLearnedRouteReport = z
  .object({
    destination: z.string().refine((s) => isValidCidr(s, { strict: true }), 'must be a CIDR without host bits'),
    nextHop: z.string().refine(isValidIp, 'must be an IP address'),
    asPath: z.array(uint32).max(256),
    med: uint32.nullable(),
    localPref: uint32.nullable(),
    /** the best route of its destination among the speaker's peers */
    best: z.boolean(),
  })
  .refine((r) => parseCidr(r.destination).version === parseIp(r.nextHop).version, "the next hop must be of the destination's family");
export type BgpLearnedRouteReport = z.infer<typeof bgpLearnedRouteReport>;

/** One BGP session of a speaker on the reporting host, as BIRD shows it. */
export const bgpSessionReport = z.object({
  speakerId: z.string(),
  peerId: z.string(),
  /** `Established`, `Active`, `Connect`, `Idle`, `Down`, `Unknown`... */
  state: z.string(),
  /** when the state was entered (ISO 8601), if known */
  since: z.string().nullable(),
  /** prefixes sent to the peer; null while the session is not up */
  prefixesSent: z.number().int().min(0).nullable(),
  lastError: z.string().nullable(),
  /**
   * what the speaker learned from the peer (none when the session is down or the peer's policy
   * accepts nothing); absent in older reports and when it could not be read: unknown
   */
  learned: z.array(bgpLearnedRouteReport).max(MAX_LEARNED_ROUTES_REPORTED).optional(),
  /** how many routes the speaker holds from the peer (more than `learned` when bounded) */
  learnedTotal: z.number().int().min(0).optional(),
});
export type BgpSessionReport = z.infer<typeof bgpSessionReport>;

export const resourceStatus = z.enum(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']);

export const resourceReportSchema = z.object({
  kind: z.enum(['port', 'network', 'router', 'floatingip', 'dhcp', 'dhcp_port', 'ra', 'bgp_speaker', 'bgp_session']),
  /** for a bgp_session: `<speaker id>/<peer id>` */
  id: z.string().min(1),
  /** The network the resource belongs to (ports), so its owner finds the aggregate. */
  networkId: z.string().nullable(),
  status: resourceStatus,
  reason: z.string(),
  /** bgp_session only: what BIRD says of the session (optional: older reports have none) */
  session: bgpSessionReport.optional(),
  /** router only, for an HA router: this host's role, active (VRRP master) or standby */
  haState: z.enum(['active', 'standby']).optional(),
});
export type ResourceReport = z.infer<typeof resourceReportSchema>;

/**
 * What an agent found after applying its desired state: the resources whose status
 * changed since its last report (all of them after a start), a bounded batch each.
 */
export const ResourceStatusReported = defineEvent(
  'ResourceStatusReported',
  z.object({ host: agentNameSchema, resources: z.array(resourceReportSchema).max(1000) }),
);

export const agentEventDefinitions = [AgentRegistered, ResourceStatusReported] as const;

export type AgentEvent = EventsOf<typeof agentEventDefinitions>;

/** A stable agent id for (row, host), shaped like the UUIDs Neutron clients expect. */
export function agentIdOf(row: string, host: string): string {
  return stableUuid(`ncp-agent:${row}/${host}`);
}

/**
 * An agent's status report, if `recorded` is one, with the metadata a service acting on it
 * records (the agent as actor, the report as cause).
 */
export function agentStatusReport(recorded: RecordedEvent): { host: string; resources: readonly ResourceReport[]; meta: CommandMetadata } | null {
  const e = recorded.envelope;
  const event = { type: e.type, data: e.data } as AgentEvent;
  if (event.type !== 'ResourceStatusReported') return null;
  const { host, resources } = event.data;
  return {
    host,
    resources,
    meta: { now: e.occurredAt, correlationId: e.correlationId, causationId: e.id, projectId: '', actor: `agent:${host}`, isAdmin: true },
  };
}
