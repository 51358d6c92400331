import {
  L3_AGGREGATES,
  L3_CONTEXT,
  ValidationError,
  withEntry,
  withoutEntry,
  type CommandMetadata,
  type Decider,
  type PolicyAction,
  type RouterEvent,
} from '@ncp/contracts';
import { cidrContainsIp, cidrsOverlap, formatCidr, parseCidr, parseIp, type Cidr } from '@ncp/netaddr';
import { badRequest, checkRevision, mayChange, cidrInput, conflict, ipText, notFound, unreachable } from './rules';

/**
 * A router owns what must hold within it: one interface per subnet, no overlapping
 * interface subnets, extra routes through connected subnets, its placement, and the
 * floating IPs that reach their fixed addresses through it (so it keeps the gateway and
 * interfaces they need).
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
  readonly adminStateUp: boolean;
  readonly ha: boolean;
  readonly gateway: { networkId: string; enableSnat: boolean; portId: string; fixedIps: readonly FixedIp[]; subnets: readonly AttachedSubnet[] } | null;
  readonly interfaces: ReadonlyMap<string, RouterInterfaceState>;
  readonly routes: readonly Route[];
  readonly host: string | null;
  /** an HA router's hosts (never `host`), each with its HA port; its VRID on its project's HA network */
  readonly haPlacement: { readonly vrid: number; readonly networkId: string; readonly hosts: readonly HaHost[] } | null;
  /** an HA router's VRRP role per host, as reported */
  readonly haStates: ReadonlyMap<string, 'active' | 'standby'>;
  /** floating IP id -> the fixed address it reaches through this router, and its subnet */
  readonly floatingIps: ReadonlyMap<string, { fixedIpAddress: string; subnetId: string }>;
}

export interface HaHost {
  readonly host: string;
  readonly row: string;
  readonly haPortId: string;
}

export interface Route {
  readonly destination: string;
  readonly nexthop: string;
}

export type GatewayState = NonNullable<RouterState['gateway']>;

export interface RouterAttributes {
  name: string;
  description: string;
  adminStateUp: boolean;
  ha: boolean;
  distributed: boolean;
  natExclusions: string[];
}

export type RouterCommand =
  /** `gateway`: its port exists in IPAM already (created first, so the router is never without it). */
  | { type: 'CreateRouter'; id: string; projectId: string; attributes: RouterAttributes; gateway?: GatewayState; routes?: readonly Route[] }
  | { type: 'UpdateRouter'; id: string; changes: Partial<RouterAttributes>; expectedRevision?: number }
  /** The gateway port exists in IPAM already (a saga step); `subnets` are its subnets' CIDRs. */
  | { type: 'SetGateway'; id: string; networkId: string; enableSnat: boolean; portId: string; fixedIps: readonly FixedIp[]; subnets: readonly AttachedSubnet[] }
  | { type: 'ClearGateway'; id: string }
  /**
   * The port exists in IPAM already (a saga step). Its addresses and their subnets' CIDRs come
   * from IPAM, safely: the port is this router's now (device_id), and a CIDR never changes;
   * what must hold among the router's interfaces (one per subnet, no overlap) is decided here.
   */
  | { type: 'AddInterface'; id: string; portId: string; networkId: string; fixedIps: readonly FixedIp[]; subnets: readonly AttachedSubnet[] }
  | { type: 'RemoveInterface'; id: string; portId: string }
  /** Replaces the extra routes (PUT with `routes`). */
  | { type: 'SetRoutes'; id: string; routes: readonly Route[]; expectedRevision?: number }
  /** Adds to / removes from the current extra routes (add_extraroutes, remove_extraroutes), decided on the current set. */
  | { type: 'ChangeRoutes'; id: string; add: readonly Route[]; remove: readonly Route[] }
  /**
   * A floating IP of `floatingNetworkId` reaching `fixedIpAddress` on `subnetId` through this
   * router; refused unless the router has, now, a gateway on that network and an interface on
   * that subnet. The floating IP's network never changes; the fixed address is the registry's
   * to give (one floating IP each).
   */
  | { type: 'AttachFloatingIp'; id: string; floatingIpId: string; floatingNetworkId: string; portId: string; fixedIpAddress: string; subnetId: string }
  /** Idempotent, also on a router that is gone (compensations and the sweeper). */
  | { type: 'DetachFloatingIp'; id: string; floatingIpId: string }
  | { type: 'Schedule'; id: string; host: string; row: string }
  /** an HA router placed before it became one gives its host up */
  | { type: 'Unschedule'; id: string }
  /** a legacy router whose host's agent died moves to another host */
  | { type: 'Reschedule'; id: string; from: string; host: string; row: string }
  /** An HA router's hosts, all of them (see RouterHaHostsSet). */
  /** `seen`: the HA ports the caller decided on; another placement's change since refuses it. */
  | { type: 'SetHaHosts'; id: string; vrid: number; networkId: string; hosts: readonly HaHost[]; seen: readonly string[] }
  /** An agent's report: only the host the router runs on (now) speaks for it. */
  | { type: 'SetStatus'; id: string; status: 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR'; reason: string; host: string }
  /** An HA host's agent's report of its VRRP role for the router. */
  | { type: 'SetHaState'; id: string; host: string; haState: 'active' | 'standby' }
  | { type: 'DeleteRouter'; id: string };

export function initialRouter(): RouterState {
  return {
    exists: false,
    projectId: '',
    revision: 0,
    status: 'BUILD',
    adminStateUp: true,
    ha: false,
    gateway: null,
    interfaces: new Map(),
    routes: [],
    host: null,
    haPlacement: null,
    haStates: new Map(),
    floatingIps: new Map(),
  };
}

function evolve(state: RouterState, event: RouterEvent): RouterState {
  switch (event.type) {
    case 'RouterCreated': {
      const g = event.data.gateway;
      const gateway = g ? { networkId: g.networkId, enableSnat: g.enableSnat, portId: g.portId, fixedIps: g.fixedIps, subnets: g.subnets } : null;
      const { adminStateUp, ha } = event.data;
      return { ...state, exists: true, projectId: event.data.projectId, adminStateUp, ha, gateway, routes: event.data.routes ?? [], revision: 1 };
    }
    case 'RouterUpdated': {
      const { adminStateUp, ha } = event.data.changes;
      return { ...state, adminStateUp: adminStateUp ?? state.adminStateUp, ha: ha ?? state.ha, revision: state.revision + 1 };
    }
    case 'RouterGatewaySet': {
      const d = event.data;
      return {
        ...state,
        gateway: { networkId: d.networkId, enableSnat: d.enableSnat, portId: d.portId, fixedIps: d.fixedIps, subnets: d.subnets },
        revision: state.revision + 1,
      };
    }
    case 'RouterGatewayCleared':
      return { ...state, gateway: null, revision: state.revision + 1 };
    case 'RouterInterfaceAdded': {
      const { portId, networkId, fixedIps, subnets } = event.data;
      return { ...state, interfaces: withEntry(state.interfaces, portId, { networkId, fixedIps, subnets }), revision: state.revision + 1 };
    }
    case 'RouterInterfaceRemoved':
      return { ...state, interfaces: withoutEntry(state.interfaces, event.data.portId), revision: state.revision + 1 };
    case 'RouterRoutesSet':
      return { ...state, routes: event.data.routes, revision: state.revision + 1 };
    case 'RouterScheduled':
      return { ...state, host: event.data.host };
    case 'RouterUnscheduled':
      return { ...state, host: null };
    case 'RouterHaHostsSet': {
      const hosts = new Set(event.data.hosts.map((h) => h.host));
      const haStates = new Map([...state.haStates].filter(([h]) => hosts.has(h)));
      return { ...state, haPlacement: { vrid: event.data.vrid, networkId: event.data.networkId, hosts: event.data.hosts }, haStates };
    }
    case 'RouterHaStateChanged':
      return { ...state, haStates: new Map(state.haStates).set(event.data.host, event.data.haState) };
    case 'RouterStatusChanged':
      return { ...state, status: event.data.status };
    case 'RouterDeleted':
      return { ...state, exists: false, revision: state.revision + 1 };
    case 'RouterFloatingIpAttached': {
      const { floatingIpId, fixedIpAddress, subnetId } = event.data;
      return { ...state, floatingIps: withEntry(state.floatingIps, floatingIpId, { fixedIpAddress, subnetId }) };
    }
    case 'RouterFloatingIpDetached':
      return { ...state, floatingIps: withoutEntry(state.floatingIps, event.data.floatingIpId) };
  }
}

function checkExclusions(exclusions: readonly string[]): string[] {
  return [...new Set(exclusions.map((e) => formatCidr(cidrInput('nat_exclusions', e))))];
}

function normaliseRoute(r: Route): Route {
  return { destination: formatCidr(cidrInput('routes', r.destination)), nexthop: ipText('routes', r.nexthop) };
}

/** Extra routes must leave through a connected subnet (an interface's or the gateway's) and be distinct. */
function checkRoutes(routes: readonly Route[], connected: readonly AttachedSubnet[]): Route[] {
  const checked = routes.map((r) => {
    const route = normaliseRoute(r);
    const hop = parseIp(route.nexthop);
    if (!connected.some((s) => cidrContainsIp(parseCidr(s.cidr), hop))) {
      throw badRequest(
        `Invalid format for routes: [{'destination': '${route.destination}', 'nexthop': '${route.nexthop}'}], the nexthop is not connected with router`,
      );
    }
    return route;
  });
  const keys = checked.map(routeKey);
  if (new Set(keys).size !== keys.length) throw badRequest('Invalid format for routes: duplicate route');
  return checked;
}

const routeKey = (r: Route) => `${r.destination}|${r.nexthop}`;

/**
 * Extra routes a router may hold in all. Neutron's `max_routes` (30 by default) bounds the
 * total the same way; a request carries at most 30 (the edge), and many of them together at
 * most this many, so a router's events stay small.
 */
export const MAX_ROUTES_PER_ROUTER = 256;

function checkRouteCount(routerId: string, routes: readonly Route[]): Route[] {
  if (routes.length > MAX_ROUTES_PER_ROUTER) {
    throw new ValidationError(
      'L3.RoutesExhausted',
      `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${MAX_ROUTES_PER_ROUTER}.`,
    );
  }
  return [...routes];
}

const connectedSubnets = (state: Pick<RouterState, 'interfaces' | 'gateway'>) =>
  [...state.interfaces.values(), ...(state.gateway ? [state.gateway] : [])].flatMap((i) => i.subnets);

/**
 * Neutron's extraroute-atomic, on the routes as they are now: the routes to remove go (those
 * absent are ignored), the routes to add join unless present.
 */
function changedRoutes(current: readonly Route[], add: readonly Route[], remove: readonly Route[], connected: readonly AttachedSubnet[]): Route[] {
  const removed = new Set(remove.map((r) => routeKey(normaliseRoute(r))));
  const kept = current.filter((r) => !removed.has(routeKey(r)));
  const keys = new Set(kept.map(routeKey));
  const added = [...new Map(add.map((r) => [routeKey(normaliseRoute(r)), r])).values()];
  return [...kept, ...checkRoutes(added, connected).filter((r) => !keys.has(routeKey(r)))];
}

const gatewayInUse = (routerId: string, networkId: string) =>
  conflict(
    'RouterExternalGatewayInUseByFloatingIp',
    `Gateway cannot be updated for router ${routerId}, since a gateway to external network ${networkId} is required by one or more floating IPs.`,
  );

function decide(command: RouterCommand, state: Readonly<RouterState>, meta: CommandMetadata): readonly [] | readonly [RouterEvent] {
  if (command.type === 'CreateRouter') {
    if (state.exists || state.revision > 0) throw conflict('RouterExists', `Router ${command.id} already exists.`);
    const a = command.attributes;
    const gateway = command.gateway ? { ...command.gateway, fixedIps: [...command.gateway.fixedIps], subnets: [...command.gateway.subnets] } : undefined;
    const routes = command.routes && command.routes.length > 0 ? checkRoutes(command.routes, gateway?.subnets ?? []) : undefined;
    return [
      {
        type: 'RouterCreated',
        data: {
          projectId: command.projectId,
          ...a,
          natExclusions: checkExclusions(a.natExclusions),
          ...(gateway ? { gateway } : {}),
          ...(routes ? { routes } : {}),
        },
      },
    ];
  }
  if (command.type === 'DetachFloatingIp') {
    // Undoes an attachment whatever became of the router since.
    return state.floatingIps.has(command.floatingIpId) ? [{ type: 'RouterFloatingIpDetached', data: { floatingIpId: command.floatingIpId } }] : [];
  }
  const missing = () => notFound('RouterNotFound', `Router ${command.id} could not be found.`);
  if (!state.exists) throw missing();
  mayChange(meta, 'get_router', ruleOf(command), { projectId: state.projectId }, missing);
  switch (command.type) {
    case 'UpdateRouter': {
      checkRevision(state.revision, command.expectedRevision);
      const changes = { ...command.changes };
      // Neutron's migration to and from HA: only of a router that is down (its traffic stops
      // while its instances are rebuilt), in a request of its own or after one setting it down
      if (changes.ha !== undefined && changes.ha !== state.ha && state.adminStateUp) {
        throw badRequest('Bad router request: Cannot change HA attribute of active routers. Please set router admin_state_up to False prior to upgrade.');
      }
      if (changes.natExclusions !== undefined) changes.natExclusions = checkExclusions(changes.natExclusions);
      return [{ type: 'RouterUpdated', data: { changes } }];
    }
    case 'SetGateway':
      if (state.gateway && state.gateway.networkId !== command.networkId && state.floatingIps.size > 0) throw gatewayInUse(command.id, state.gateway.networkId);
      return [
        {
          type: 'RouterGatewaySet',
          data: {
            networkId: command.networkId,
            enableSnat: command.enableSnat,
            portId: command.portId,
            fixedIps: [...command.fixedIps],
            subnets: [...command.subnets],
          },
        },
      ];
    case 'ClearGateway': {
      if (!state.gateway) return [];
      if (state.floatingIps.size > 0) throw gatewayInUse(command.id, state.gateway.networkId);
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
          throw badRequest(
            `Bad router request: Cidr ${s.cidr} of subnet ${s.subnetId} overlaps with cidr ${formatCidr(clash)} of another interface of router ${command.id}.`,
          );
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
      const subnets = new Set(state.interfaces.get(command.portId)?.subnets.map((s) => s.subnetId));
      if ([...state.floatingIps.values()].some((f) => subnets.has(f.subnetId))) {
        throw conflict(
          'RouterInterfaceInUseByFloatingIP',
          `Router interface for subnet on router ${command.id} cannot be deleted, as it is required by one or more floating IPs.`,
        );
      }
      return [{ type: 'RouterInterfaceRemoved', data: { portId: command.portId } }];
    }
    case 'SetRoutes':
      checkRevision(state.revision, command.expectedRevision);
      return [{ type: 'RouterRoutesSet', data: { routes: checkRouteCount(command.id, checkRoutes(command.routes, connectedSubnets(state))) } }];
    case 'ChangeRoutes': {
      const routes = checkRouteCount(command.id, changedRoutes(state.routes, command.add, command.remove, connectedSubnets(state)));
      return routes.map(routeKey).join(',') === state.routes.map(routeKey).join(',') ? [] : [{ type: 'RouterRoutesSet', data: { routes } }];
    }
    case 'AttachFloatingIp': {
      const reachable =
        state.gateway?.networkId === command.floatingNetworkId &&
        [...state.interfaces.values()].some((i) => i.subnets.some((s) => s.subnetId === command.subnetId));
      if (!reachable) throw unreachable(command.floatingNetworkId, command.subnetId, command.portId);
      const held = state.floatingIps.get(command.floatingIpId);
      if (held?.fixedIpAddress === command.fixedIpAddress && held.subnetId === command.subnetId) return [];
      return [
        { type: 'RouterFloatingIpAttached', data: { floatingIpId: command.floatingIpId, fixedIpAddress: command.fixedIpAddress, subnetId: command.subnetId } },
      ];
    }
    case 'Schedule':
      // The first placement holds: two placement loops racing must not move a router between
      // hosts. An HA router has hosts instead (a placement that read it before it became one).
      return state.host !== null || state.ha ? [] : [{ type: 'RouterScheduled', data: { host: command.host, row: command.row } }];
    case 'Reschedule':
      // from the host it was seen on only: a placement that saw an older host (the router moved
      // meanwhile, or became HA) changes nothing
      return !state.ha && state.host === command.from && command.host !== command.from
        ? [{ type: 'RouterScheduled', data: { host: command.host, row: command.row } }]
        : [];
    case 'Unschedule':
      // only an HA router leaves its host: a legacy one keeps it (a late request changes nothing)
      return state.ha && state.host !== null ? [{ type: 'RouterUnscheduled', data: { host: state.host } }] : [];
    case 'SetHaHosts': {
      // only an HA router has them, and a router that became non-HA keeps its last ones until
      // its placement lets them go (it is down: Neutron's migration rule)
      if (!state.ha && command.hosts.length > 0) throw conflict('RouterNotHa', `Router ${command.id} is not an HA router.`);
      const now = state.haPlacement;
      const same =
        now !== null &&
        now.vrid === command.vrid &&
        now.networkId === command.networkId &&
        now.hosts.length === command.hosts.length &&
        now.hosts.every((h, i) => h.host === command.hosts[i]?.host && h.haPortId === command.hosts[i]?.haPortId && h.row === command.hosts[i]?.row);
      if (same) return [];
      // two placements at once (the loop and a request) each made HA ports: the first holds,
      // the other deletes its own
      const nowPorts = (now?.hosts ?? []).map((h) => h.haPortId);
      if (nowPorts.length !== command.seen.length || nowPorts.some((p, i) => p !== command.seen[i])) {
        throw conflict('RouterHaHostsChanged', `Router ${command.id}: its HA hosts changed meanwhile.`);
      }
      if (new Set(command.hosts.map((h) => h.host)).size !== command.hosts.length) throw badRequest('An HA router runs once on a host.');
      return [{ type: 'RouterHaHostsSet', data: { vrid: command.vrid, networkId: command.networkId, hosts: command.hosts.map((h) => ({ ...h })) } }];
    }
    case 'SetStatus': {
      // an HA router's hosts all speak for it (each reports the same router status)
      const haHost = state.haPlacement?.hosts.some((h) => h.host === command.host) ?? false;
      return (state.host !== command.host && !haHost) || state.status === command.status
        ? []
        : [{ type: 'RouterStatusChanged', data: { status: command.status, reason: command.reason } }];
    }
    case 'SetHaState':
      // each HA host for its own VRRP role; a host the router no longer runs on is not heard
      return !(state.haPlacement?.hosts.some((h) => h.host === command.host) ?? false) || state.haStates.get(command.host) === command.haState
        ? []
        : [{ type: 'RouterHaStateChanged', data: { host: command.host, haState: command.haState } }];
    case 'DeleteRouter':
      if (state.interfaces.size > 0) {
        throw conflict('RouterInUse', `Router ${command.id} still has ports`);
      }
      return [{ type: 'RouterDeleted', data: {} }];
  }
}

export const routerDecider: Decider<RouterState, RouterCommand, RouterEvent> = {
  context: L3_CONTEXT,
  aggregate: L3_AGGREGATES.router,
  initialState: initialRouter,
  evolve,
  decide,
};

/** The policy rule of a change to a router (the service's own steps are checked as an update). */
function ruleOf(command: RouterCommand): PolicyAction {
  switch (command.type) {
    case 'AddInterface':
      return 'add_router_interface';
    case 'RemoveInterface':
      return 'remove_router_interface';
    case 'ChangeRoutes':
      return command.add.length > 0 ? 'add_extraroutes' : 'remove_extraroutes';
    case 'DeleteRouter':
      return 'delete_router';
    default:
      return 'update_router';
  }
}
