import { L3_AGGREGATES, L3_CONTEXT, type CommandMetadata, type Decider, type RouterEvent } from '@ncp/contracts';
import { cidrContainsIp, cidrsOverlap, formatCidr, parseCidr, parseIp, type Cidr } from '@ncp/netaddr';
import { badRequest, canModify, checkRevision, cidrInput, conflict, ipText, notFound } from './rules';

/**
 * A router owns what must hold within it: one interface per subnet, no overlapping
 * interface subnets, extra routes through connected subnets, and its placement.
 */
export interface FixedIp {
  readonly subnetId: string;
  readonly ipAddress: string;
}

/** A subnet a router is attached to, with its CIDR for overlap and nexthop checks. */
export interface AttachedSubnet {
  readonly subnetId: string;
  readonly cidr: string;
}

export interface RouterInterfaceState {
  readonly networkId: string;
  readonly fixedIps: readonly FixedIp[];
  readonly subnets: readonly AttachedSubnet[];
}

export interface RouterState {
  readonly exists: boolean;
  readonly projectId: string;
  readonly revision: number;
  readonly status: string;
  readonly gateway: { networkId: string; enableSnat: boolean; portId: string; fixedIps: readonly FixedIp[]; subnets: readonly AttachedSubnet[] } | null;
  readonly interfaces: ReadonlyMap<string, RouterInterfaceState>;
  readonly routes: readonly { destination: string; nexthop: string }[];
  readonly host: string | null;
}

export interface RouterAttributes {
  name: string;
  description: string;
  adminStateUp: boolean;
  ha: boolean;
  distributed: boolean;
  natExclusions: string[];
}

export type RouterCommand =
  | { type: 'CreateRouter'; id: string; projectId: string; attributes: RouterAttributes }
  | { type: 'UpdateRouter'; id: string; changes: Partial<RouterAttributes>; expectedRevision?: number }
  /** The gateway port exists in IPAM already (a saga step); `subnets` are its subnets' CIDRs. */
  | { type: 'SetGateway'; id: string; networkId: string; enableSnat: boolean; portId: string; fixedIps: readonly FixedIp[]; subnets: readonly AttachedSubnet[] }
  | { type: 'ClearGateway'; id: string; floatingIpsThroughGateway: number }
  | { type: 'AddInterface'; id: string; portId: string; networkId: string; fixedIps: readonly FixedIp[]; subnets: readonly AttachedSubnet[] }
  | { type: 'RemoveInterface'; id: string; portId: string; floatingIpsThroughInterface: number }
  | { type: 'SetRoutes'; id: string; routes: readonly { destination: string; nexthop: string }[]; expectedRevision?: number }
  | { type: 'Schedule'; id: string; host: string; row: string }
  | { type: 'SetStatus'; id: string; status: 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR'; reason: string }
  | { type: 'DeleteRouter'; id: string };

export function initialRouter(): RouterState {
  return { exists: false, projectId: '', revision: 0, status: 'BUILD', gateway: null, interfaces: new Map(), routes: [], host: null };
}

function evolve(state: RouterState, event: RouterEvent): RouterState {
  switch (event.type) {
    case 'RouterCreated':
      return { ...state, exists: true, projectId: event.data.projectId, revision: 1 };
    case 'RouterUpdated':
      return { ...state, revision: state.revision + 1 };
    case 'RouterGatewaySet': {
      const d = event.data;
      return { ...state, gateway: { networkId: d.networkId, enableSnat: d.enableSnat, portId: d.portId, fixedIps: d.fixedIps, subnets: d.subnets }, revision: state.revision + 1 };
    }
    case 'RouterGatewayCleared':
      return { ...state, gateway: null, revision: state.revision + 1 };
    case 'RouterInterfaceAdded': {
      const interfaces = new Map(state.interfaces);
      interfaces.set(event.data.portId, { networkId: event.data.networkId, fixedIps: event.data.fixedIps, subnets: event.data.subnets });
      return { ...state, interfaces, revision: state.revision + 1 };
    }
    case 'RouterInterfaceRemoved': {
      const interfaces = new Map(state.interfaces);
      interfaces.delete(event.data.portId);
      return { ...state, interfaces, revision: state.revision + 1 };
    }
    case 'RouterRoutesSet':
      return { ...state, routes: event.data.routes, revision: state.revision + 1 };
    case 'RouterScheduled':
      return { ...state, host: event.data.host };
    case 'RouterStatusChanged':
      return { ...state, status: event.data.status };
    case 'RouterDeleted':
      return { ...state, exists: false, revision: state.revision + 1 };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

function checkExclusions(exclusions: readonly string[]): string[] {
  return [...new Set(exclusions.map((e) => formatCidr(cidrInput('nat_exclusions', e))))];
}

function decide(command: RouterCommand, state: Readonly<RouterState>, meta: CommandMetadata): readonly [] | readonly [RouterEvent] {
  if (command.type === 'CreateRouter') {
    if (state.exists || state.revision > 0) throw conflict('RouterExists', `Router ${command.id} already exists.`);
    const a = command.attributes;
    return [{ type: 'RouterCreated', data: { projectId: command.projectId, ...a, natExclusions: checkExclusions(a.natExclusions) } }];
  }
  const missing = () => notFound('RouterNotFound', `Router ${command.id} could not be found.`);
  if (!state.exists || !canModify(meta, state)) throw missing();
  switch (command.type) {
    case 'UpdateRouter': {
      checkRevision(state.revision, command.expectedRevision);
      const changes = { ...command.changes };
      if (changes.natExclusions !== undefined) changes.natExclusions = checkExclusions(changes.natExclusions);
      return [{ type: 'RouterUpdated', data: { changes } }];
    }
    case 'SetGateway':
      return [
        {
          type: 'RouterGatewaySet',
          data: { networkId: command.networkId, enableSnat: command.enableSnat, portId: command.portId, fixedIps: [...command.fixedIps], subnets: [...command.subnets] },
        },
      ];
    case 'ClearGateway': {
      if (!state.gateway) return [];
      if (command.floatingIpsThroughGateway > 0) {
        throw conflict(
          'RouterExternalGatewayInUseByFloatingIp',
          `Gateway cannot be updated for router ${command.id}, since a gateway to external network ${state.gateway.networkId} is required by one or more floating IPs.`,
        );
      }
      return [{ type: 'RouterGatewayCleared', data: { portId: state.gateway.portId } }];
    }
    case 'AddInterface': {
      const existing = [...state.interfaces.values()].flatMap((i) => i.subnets);
      for (const s of command.subnets) {
        if (existing.some((e) => e.subnetId === s.subnetId)) throw badRequest(`Router already has a port on subnet ${s.subnetId}.`);
      }
      const cidrs: Cidr[] = existing.map((e) => parseCidr(e.cidr));
      for (const s of command.subnets) {
        const cidr = parseCidr(s.cidr);
        const clash = cidrs.find((c) => cidrsOverlap(c, cidr));
        if (clash) {
          throw badRequest(`Bad router request: Cidr ${s.cidr} of subnet ${s.subnetId} overlaps with cidr ${formatCidr(clash)} of another interface of router ${command.id}.`);
        }
      }
      return [
        {
          type: 'RouterInterfaceAdded',
          data: { portId: command.portId, networkId: command.networkId, fixedIps: [...command.fixedIps], subnets: [...command.subnets] },
        },
      ];
    }
    case 'RemoveInterface': {
      if (!state.interfaces.has(command.portId)) {
        throw notFound('RouterInterfaceNotFound', `Router ${command.id} does not have an interface with id ${command.portId}.`);
      }
      if (command.floatingIpsThroughInterface > 0) {
        throw conflict(
          'RouterInterfaceInUseByFloatingIP',
          `Router interface for subnet on router ${command.id} cannot be deleted, as it is required by one or more floating IPs.`,
        );
      }
      return [{ type: 'RouterInterfaceRemoved', data: { portId: command.portId } }];
    }
    case 'SetRoutes': {
      checkRevision(state.revision, command.expectedRevision);
      const connected = [...state.interfaces.values(), ...(state.gateway ? [state.gateway] : [])].flatMap((i) => i.subnets);
      const routes = command.routes.map((r) => {
        const destination = formatCidr(cidrInput('routes', r.destination));
        const nexthop = ipText('routes', r.nexthop);
        const hop = parseIp(nexthop);
        if (!connected.some((s) => cidrContainsIp(parseCidr(s.cidr), hop))) {
          throw badRequest(`Invalid format for routes: [{'destination': '${destination}', 'nexthop': '${nexthop}'}], the nexthop is not connected with router`);
        }
        return { destination, nexthop };
      });
      const keys = routes.map((r) => `${r.destination}|${r.nexthop}`);
      if (new Set(keys).size !== keys.length) throw badRequest('Invalid format for routes: duplicate route');
      return [{ type: 'RouterRoutesSet', data: { routes } }];
    }
    case 'Schedule':
      return state.host === command.host ? [] : [{ type: 'RouterScheduled', data: { host: command.host, row: command.row } }];
    case 'SetStatus':
      return state.status === command.status ? [] : [{ type: 'RouterStatusChanged', data: { status: command.status, reason: command.reason } }];
    case 'DeleteRouter':
      if (state.interfaces.size > 0) {
        throw conflict('RouterInUse', `Router ${command.id} still has ports`);
      }
      return [{ type: 'RouterDeleted', data: {} }];
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

export const routerDecider: Decider<RouterState, RouterCommand, RouterEvent> = {
  context: L3_CONTEXT,
  aggregate: L3_AGGREGATES.router,
  initialState: initialRouter,
  evolve,
  decide,
};
