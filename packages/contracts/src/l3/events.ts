import { z } from 'zod';
import { defineEvent, type EventsOf } from '../event-registry';

/**
 * L3 events: routers (interfaces, gateway, routes, placement) and floating IPs. Router
 * ports and floating IP ports are IPAM ports; these events name them by id.
 */
export const L3_CONTEXT = 'l3';
export const L3_AGGREGATES = { router: 'router', floatingIp: 'floatingip', registry: 'registry', haNetwork: 'hanetwork' } as const;
export const L3_REGISTRY_ID = 'global';

const id = z.string().min(1);
const text = z.string();
const fixedIp = z.object({ subnetId: id, ipAddress: text });
const route = z.object({ destination: text, nexthop: text });
/** A subnet a router port is on, with its CIDR (immutable), for overlap and nexthop checks. */
const attachedSubnet = z.object({ subnetId: id, cidr: text });
export const l3Status = z.enum(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']);

const routerAttributes = {
  name: text,
  description: text,
  adminStateUp: z.boolean(),
  ha: z.boolean(),
  distributed: z.boolean(),
  /** Destinations reached with the instance's own address while the rest is SNATed. */
  natExclusions: z.array(text),
};

const gateway = z.object({ networkId: id, enableSnat: z.boolean(), portId: id, fixedIps: z.array(fixedIp), subnets: z.array(attachedSubnet) });

/**
 * A router, with the gateway and extra routes it was created with: one event, so a router
 * asked for with a gateway never exists without it. `gateway` and `routes` came later;
 * events written before them lack both and read as a router created without them.
 */
export const RouterCreated = defineEvent(
  'RouterCreated',
  z.object({ projectId: text, ...routerAttributes, gateway: gateway.optional(), routes: z.array(route).optional() }),
);
export const RouterUpdated = defineEvent('RouterUpdated', z.object({ changes: z.object(routerAttributes).partial() }));
/** The whole gateway, set or replaced. */
export const RouterGatewaySet = defineEvent('RouterGatewaySet', gateway);
export const RouterGatewayCleared = defineEvent('RouterGatewayCleared', z.object({ portId: id }));
export const RouterInterfaceAdded = defineEvent(
  'RouterInterfaceAdded',
  z.object({ portId: id, networkId: id, fixedIps: z.array(fixedIp), subnets: z.array(attachedSubnet) }),
);
export const RouterInterfaceRemoved = defineEvent('RouterInterfaceRemoved', z.object({ portId: id }));
export const RouterRoutesSet = defineEvent('RouterRoutesSet', z.object({ routes: z.array(route) }));
/** The router's one host (its first, or another when its host's agent died). */
export const RouterScheduled = defineEvent('RouterScheduled', z.object({ host: text, row: text }));
/** A router that became an HA router leaves its one host (its HA hosts are placed next). */
export const RouterUnscheduled = defineEvent('RouterUnscheduled', z.object({ host: text }));
export const RouterStatusChanged = defineEvent('RouterStatusChanged', z.object({ status: l3Status, reason: text }));
/**
 * The hosts an HA router runs on (the whole set, replacing the last one), each with its HA
 * port: the router's port on its project's HA network bound to that host, over which the
 * host's keepalived speaks VRRP with `vrid`. An HA router never has a `RouterScheduled` host.
 */
export const RouterHaHostsSet = defineEvent(
  'RouterHaHostsSet',
  z.object({ vrid: z.number().int().min(1).max(254), networkId: id, hosts: z.array(z.object({ host: text, row: text, haPortId: id })).max(2) }),
);
/** An HA router's VRRP role on one of its hosts, as that host's agent reports it. */
export const RouterHaStateChanged = defineEvent('RouterHaStateChanged', z.object({ host: text, haState: z.enum(['active', 'standby']) }));
export const RouterDeleted = defineEvent('RouterDeleted', z.object({}));
/**
 * A floating IP reaches its fixed address through this router (its gateway is on the floating
 * IP's network, one of its interfaces on the fixed address's subnet): recorded in the router,
 * so that the router itself refuses to lose that gateway or interface.
 */
export const RouterFloatingIpAttached = defineEvent('RouterFloatingIpAttached', z.object({ floatingIpId: id, fixedIpAddress: text, subnetId: id }));
export const RouterFloatingIpDetached = defineEvent('RouterFloatingIpDetached', z.object({ floatingIpId: id }));

export const FloatingIpCreated = defineEvent(
  'FloatingIpCreated',
  z.object({
    projectId: text,
    description: text,
    floatingNetworkId: id,
    floatingPortId: id,
    subnetId: id,
    floatingIpAddress: text,
  }),
);
export const FloatingIpAssociated = defineEvent('FloatingIpAssociated', z.object({ portId: id, fixedIpAddress: text, routerId: id }));
export const FloatingIpDisassociated = defineEvent('FloatingIpDisassociated', z.object({}));
export const FloatingIpUpdated = defineEvent('FloatingIpUpdated', z.object({ changes: z.object({ description: text }).partial() }));
export const FloatingIpStatusChanged = defineEvent('FloatingIpStatusChanged', z.object({ status: l3Status, reason: text }));
export const FloatingIpDeleted = defineEvent('FloatingIpDeleted', z.object({}));

/** Deployment-wide: one floating IP per fixed address. */
export const FixedIpFloatingIpClaimed = defineEvent('FixedIpFloatingIpClaimed', z.object({ portId: id, fixedIpAddress: text, floatingIpId: id }));
export const FixedIpFloatingIpReleased = defineEvent('FixedIpFloatingIpReleased', z.object({ portId: id, fixedIpAddress: text, floatingIpId: id }));

/**
 * A project's HA network (Neutron's "HA network tenant <project>"), aggregate id the project
 * id: the IPAM network its HA routers run VRRP over, claimed once (two routers created at once
 * must not make two), and the VRID of each of its routers (unique on the network).
 */
export const HaNetworkClaimed = defineEvent('HaNetworkClaimed', z.object({ networkId: id }));
/** The project's last HA router is gone: its HA network is let go (L3 deletes it in IPAM next). */
export const HaNetworkReleased = defineEvent('HaNetworkReleased', z.object({ networkId: id }));
export const HaVridAllocated = defineEvent('HaVridAllocated', z.object({ routerId: id, vrid: z.number().int().min(1).max(254) }));
export const HaVridReleased = defineEvent('HaVridReleased', z.object({ routerId: id }));

/** The events of each aggregate; the context's definitions are all of them. */
const routerEvents = [
  RouterCreated,
  RouterUpdated,
  RouterGatewaySet,
  RouterGatewayCleared,
  RouterInterfaceAdded,
  RouterInterfaceRemoved,
  RouterRoutesSet,
  RouterScheduled,
  RouterUnscheduled,
  RouterHaHostsSet,
  RouterHaStateChanged,
  RouterStatusChanged,
  RouterDeleted,
  RouterFloatingIpAttached,
  RouterFloatingIpDetached,
] as const;
const floatingIpEvents = [
  FloatingIpCreated,
  FloatingIpAssociated,
  FloatingIpDisassociated,
  FloatingIpUpdated,
  FloatingIpStatusChanged,
  FloatingIpDeleted,
] as const;
const registryEvents = [FixedIpFloatingIpClaimed, FixedIpFloatingIpReleased] as const;
const haNetworkEvents = [HaNetworkClaimed, HaNetworkReleased, HaVridAllocated, HaVridReleased] as const;
export const l3EventDefinitions = [...routerEvents, ...floatingIpEvents, ...registryEvents, ...haNetworkEvents] as const;

export type L3Event = EventsOf<typeof l3EventDefinitions>;
export type L3EventOf<T extends L3Event['type']> = Extract<L3Event, { type: T }>;
export type RouterEvent = EventsOf<typeof routerEvents>;
export type FloatingIpEvent = EventsOf<typeof floatingIpEvents>;
export type L3RegistryEvent = EventsOf<typeof registryEvents>;
export type HaNetworkEvent = EventsOf<typeof haNetworkEvents>;
