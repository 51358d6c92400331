import { Controller, Get, Inject, Param, Req } from '@nestjs/common';
import { ApiSupport, neutronHeartbeat, type HttpRequestLike } from '@ncp/nest-common';
import { type IpamReader } from './resources';
import { type IpamPrisma } from '../infrastructure/prisma';
import { type AgentLiveness } from '../desired-state/agent-liveness';
import { type Prisma } from '../generated/prisma/client';
import { timestamp } from './resources';

type AgentRow = Prisma.AgentGetPayload<object>;

/** Every agent does L2 the way Neutron's Linux bridge agent does; later roles add rows. */
export const L2_AGENT_TYPE = 'Linux bridge agent';

const ROLE_OF_AGENT_TYPE: Record<string, string> = { 'DHCP agent': 'network', 'L3 agent': 'network', 'BGP dynamic routing agent': 'bgp' };

export function agentsReader(liveness: AgentLiveness): IpamReader<AgentRow> {
  return {
    path: 'agents',
    spec: {
      singular: 'agent',
      collection: 'agents',
      attributes: {
        id: { type: 'string', column: 'id' },
        host: { type: 'string', column: 'host' },
        row: { type: 'string', column: 'row' },
        agent_type: { type: 'string' },
        binary: { type: 'string' },
        topic: { type: 'string' },
        alive: { type: 'boolean' },
        admin_state_up: { type: 'boolean' },
        heartbeat_timestamp: { type: 'string' },
        started_at: { type: 'string', column: 'startedAt' },
        created_at: { type: 'string', column: 'createdAt' },
        configurations: { type: 'json' },
        availability_zone: { type: 'string' },
        description: { type: 'string' },
        resources_synced: { type: 'boolean' },
      },
      customFilters: ['agent_type', 'binary'],
    },
    notFound: (id) => ({ type: 'AgentNotFound', message: `Agent ${id} could not be found.` }),
    defaultSort: [{ attribute: 'host', column: 'host', direction: 'asc' }],
    // Agents are infrastructure: every project may list them (Neutron restricts this to
    // admins by policy; there is no policy engine yet).
    visibleTo: () => ({}),
    // One agent does every job its roles give it: `agent_type=DHCP agent` finds the network
    // agents, `BGP dynamic routing agent` the bgp ones (what `openstack bgp dragent list` asks).
    customFilter: (name, values) => {
      if (name !== 'agent_type') return values.includes('ncp-agent') ? {} : { id: { in: [] } };
      if (values.includes(L2_AGENT_TYPE)) return {};
      const roles = values.flatMap((v) => ROLE_OF_AGENT_TYPE[v] ?? []);
      return roles.length > 0 ? { roles: { hasSome: roles } } : { id: { in: [] } };
    },
    findMany: (prisma, args) => prisma.agent.findMany(args),
    toWire: (a) => {
      const heartbeat = liveness.heartbeat(a.host);
      return {
        id: a.id,
        agent_type: L2_AGENT_TYPE,
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
export class AgentsController {
  constructor(
    @Inject(ApiSupport) private readonly api: ApiSupport<IpamPrisma>,
    @Inject(AGENTS_READER) private readonly agents: IpamReader<AgentRow>,
  ) {}

  @Get()
  list(@Req() req: HttpRequestLike) {
    return this.api.list(this.agents, req);
  }

  @Get(':id')
  get(@Param('id') id: string, @Req() req: HttpRequestLike) {
    return this.api.get(this.agents, id, req);
  }
}
