import { Controller } from '@nestjs/common';
import { booleanAttr, jsonAttr, neutronHeartbeat, neutronReader, policyWhere, stringAttr } from '@ncp/nest-common';
import { type IpamReader } from './resources';
import { type IpamPrisma } from '../infrastructure/prisma';
import { type AgentLiveness } from '../desired-state/agent-liveness';
import { type Prisma } from '../generated/prisma/client';
import { timestamp } from './resources';

/** One agent as one of the Neutron agents it stands for (the same id in each, as the DHCP, L3 and BGP views show it). */
type AgentRow = Prisma.AgentGetPayload<object> & { agentType?: string };

/** Every agent does L2 the way Neutron's Linux bridge agent does; its roles add the others. */
export const L2_AGENT_TYPE = 'Linux bridge agent';

const ROLE_OF_AGENT_TYPE: Record<string, string> = { 'DHCP agent': 'network', 'L3 agent': 'network', 'BGP dynamic routing agent': 'bgp' };

/** The Neutron agent types one agent stands for, the L2 one first (what GET by id shows). */
function agentTypesOf(roles: readonly string[]): string[] {
  return [
    L2_AGENT_TYPE,
    ...Object.entries(ROLE_OF_AGENT_TYPE)
      .filter(([, role]) => roles.includes(role))
      .map(([type]) => type),
  ];
}

export function agentsReader(liveness: AgentLiveness): IpamReader<AgentRow> {
  return {
    path: 'agents',
    spec: {
      singular: 'agent',
      collection: 'agents',
      attributes: {
        id: stringAttr('id'),
        host: stringAttr('host'),
        row: stringAttr('row'),
        agent_type: stringAttr(),
        binary: stringAttr(),
        topic: stringAttr(),
        alive: booleanAttr(),
        admin_state_up: booleanAttr(),
        heartbeat_timestamp: stringAttr(),
        started_at: stringAttr('startedAt'),
        created_at: stringAttr('createdAt'),
        configurations: jsonAttr,
        availability_zone: stringAttr(),
        description: stringAttr(),
        resources_synced: booleanAttr(),
      },
      customFilters: ['agent_type', 'binary'],
    },
    notFound: (id) => ({ type: 'AgentNotFound', message: `Agent ${id} could not be found.` }),
    defaultSort: [{ attribute: 'host', column: 'host', direction: 'asc' }],
    // Neutron's policy (get_agent: admin_only): other projects list none.
    visibleTo: (meta) => policyWhere('get_agent', meta),
    // One agent does every job its roles give it and is listed once per job, as Neutron lists
    // one agent per type and host: `agent_type=DHCP agent` finds the network agents, as DHCP
    // agents, `BGP dynamic routing agent` the bgp ones (what `openstack bgp dragent list` asks).
    customFilter: (name, values) => {
      if (name !== 'agent_type') return values.includes('ncp-agent') ? {} : { id: { in: [] } };
      if (values.includes(L2_AGENT_TYPE)) return {};
      const roles = values.flatMap((v) => ROLE_OF_AGENT_TYPE[v] ?? []);
      return roles.length > 0 ? { roles: { hasSome: roles } } : { id: { in: [] } };
    },
    findMany: (prisma, args) => prisma.agent.findMany(args),
    expand: (rows, custom) => {
      const wanted = custom.agent_type;
      return rows.flatMap((a) =>
        agentTypesOf(a.roles)
          .filter((t) => !wanted || wanted.includes(t))
          .map((agentType) => ({ ...a, agentType })),
      );
    },
    toWire: (a) => {
      const heartbeat = liveness.heartbeat(a.host);
      return {
        id: a.id,
        agent_type: a.agentType ?? L2_AGENT_TYPE,
        binary: 'ncp-agent',
        topic: 'N/A',
        host: a.host,
        row: a.row,
        admin_state_up: true,
        alive: liveness.isAlive(a.host),
        heartbeat_timestamp: neutronHeartbeat(heartbeat),
        started_at: timestamp(a.startedAt),
        created_at: timestamp(a.createdAt),
        availability_zone: null,
        description: null,
        resources_synced: null,
        configurations: { roles: a.roles, tunnel_ip: a.tunnelIp, bridge_mappings: a.physnets, tunnel_types: ['vxlan'], version: a.version },
      };
    },
  };
}

export const AGENTS_READER = Symbol('AGENTS_READER');

@Controller('v2.0/agents')
export class AgentsController extends neutronReader<IpamPrisma, { agents: IpamReader<AgentRow> }>({
  inject: { agents: AGENTS_READER },
  reader: (deps) => deps.agents,
}) {}
