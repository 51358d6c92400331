import { z } from 'zod';
import { defineEvent, type EventsOf } from '../event-registry';

/**
 * DHCP events: where each network's DHCP server runs and with which port. Everything a
 * server hands out (leases, options, RAs) is derived from IPAM's events, not stored here.
 * One aggregate per network: `ev.dhcp.server.<network id>`.
 */
export const DHCP_CONTEXT = 'dhcp';
export const DHCP_AGGREGATES = { server: 'server' } as const;

const id = z.string().min(1);
const text = z.string();
export const dhcpServerStatus = z.enum(['ACTIVE', 'DOWN', 'BUILD', 'ERROR']);

/** The network's DHCP server is placed on an agent (the API's dhcp-agents). */
export const DhcpServerScheduled = defineEvent('DhcpServerScheduled', z.object({ host: text, row: text, pinned: z.boolean() }));
/** The IPAM port (device_owner network:dhcp) the server answers from. */
export const DhcpPortAssigned = defineEvent('DhcpPortAssigned', z.object({ portId: id }));
/**
 * The server's port is given up while the server stays placed: a network pinned to an agent
 * keeps its binding (as Neutron does) when no subnet needs DHCP any more.
 */
export const DhcpPortReleased = defineEvent('DhcpPortReleased', z.object({ portId: id }));
export const DhcpServerUnscheduled = defineEvent('DhcpServerUnscheduled', z.object({ host: text, reason: text }));
export const DhcpServerStatusChanged = defineEvent('DhcpServerStatusChanged', z.object({ status: dhcpServerStatus, reason: text }));

export const dhcpEventDefinitions = [DhcpServerScheduled, DhcpPortAssigned, DhcpPortReleased, DhcpServerUnscheduled, DhcpServerStatusChanged] as const;

export type DhcpEvent = EventsOf<typeof dhcpEventDefinitions>;
