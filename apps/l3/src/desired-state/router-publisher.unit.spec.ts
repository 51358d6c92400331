import { Naming, type RecordedEvent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { HA_PORT_OWNER } from '../application/placement';
import { type L3Prisma } from '../infrastructure/prisma';
import { HA_PRIORITY, RouterIntents, haIntent } from './router-publisher';

const PORT = '5a555555-0000-4000-8000-0000000000a1';

describe("an HA router's intent on one host", () => {
  const subnets = new Map([
    ['ha4', { cidr: '169.254.192.0/18', ipVersion: 4, gatewayIp: null, addressScopeId: null }],
    ['v6', { cidr: '2001:db8::/64', ipVersion: 6, gatewayIp: null, addressScopeId: null }],
  ]);

  it("carries the VRID, the shared priority and that host's HA port with its address", () => {
    expect(
      haIntent(
        7,
        PORT,
        [
          { subnetId: 'v6', ipAddress: '2001:db8::5' },
          { subnetId: 'ha4', ipAddress: '169.254.192.5' },
        ],
        subnets,
        0.2,
      ),
    ).toEqual({ vrid: 7, priority: HA_PRIORITY, advertSeconds: 0.2, interface: { portId: PORT, ifname: 'ha-5a555555000', address: '169.254.192.5/18' } });
  });

  it('is not there before IPAM gave the port an IPv4 address', () => {
    expect(haIntent(7, PORT, undefined, subnets, 0.5)).toBeNull();
    expect(haIntent(7, PORT, [{ subnetId: 'v6', ipAddress: '2001:db8::5' }], subnets, 0.5)).toBeNull();
  });
});

describe('the routers a batch of events may change', () => {
  const naming = new Naming({ prefix: 't1' });
  const event = (context: string, aggregate: string, id: string, type: string, data: object = {}) =>
    ({ subject: naming.eventSubject(context, aggregate, id), sequence: 1, envelope: { type, data } }) as unknown as RecordedEvent;
  /** A projection with one associated floating IP (fip-known on r-known) and nothing else. */
  const prisma = {
    router: { findMany: async () => [] },
    floatingIp: { findMany: async () => [{ id: 'fip-known', routerId: 'r-known' }] },
    ipamPort: { findMany: async () => [] },
    ipamSubnet: { findMany: async () => [] },
    bgpSpeaker: { findMany: async () => [] },
    bgpLearnedRoute: { findMany: async () => [] },
  } as unknown as L3Prisma;
  const changed = (intents: RouterIntents, ...events: RecordedEvent[]) => {
    const routers = intents.routersChangedBy(events);
    return routers === undefined ? undefined : [...routers].sort();
  };

  it("names a router's own events, but not what agents report of it", () => {
    const intents = new RouterIntents(naming, prisma, 1);
    expect(changed(intents, event('l3', 'router', 'r1', 'RouterInterfaceAdded'), event('l3', 'router', 'r2', 'RouterScheduled'))).toEqual(['r1', 'r2']);
    expect(changed(intents, event('l3', 'router', 'r1', 'RouterStatusChanged'), event('l3', 'router', 'r1', 'RouterHaStateChanged'))).toEqual([]);
  });

  it("names a floating IP's router, the one it is associated to and the one it was on (from the intents computed, or the association seen)", async () => {
    const intents = new RouterIntents(naming, prisma, 1);
    expect(changed(intents, event('l3', 'floatingip', 'fip-known', 'FloatingIpDisassociated'))).toEqual([]);
    await intents.compute('all');
    expect(changed(intents, event('l3', 'floatingip', 'fip-known', 'FloatingIpDisassociated'))).toEqual(['r-known']);
    expect(changed(intents, event('l3', 'floatingip', 'fip-new', 'FloatingIpCreated'))).toEqual([]);
    expect(changed(intents, event('l3', 'floatingip', 'fip-new', 'FloatingIpAssociated', { routerId: 'r1', portId: 'p', fixedIpAddress: '10.0.0.5' }))).toEqual(
      ['r1'],
    );
    // moved to another router: both
    expect(changed(intents, event('l3', 'floatingip', 'fip-new', 'FloatingIpAssociated', { routerId: 'r2', portId: 'p', fixedIpAddress: '10.0.0.5' }))).toEqual(
      ['r1', 'r2'],
    );
    expect(changed(intents, event('l3', 'floatingip', 'fip-new', 'FloatingIpDeleted'))).toEqual(['r2']);
  });

  it("leaves out ports no intent shows, and gives up on what may change any router's", () => {
    const intents = new RouterIntents(naming, prisma, 1);
    const ipam = (type: string, data: object = {}) => event('ipam', 'network', 'n1', type, data);
    expect(
      changed(
        intents,
        ipam('PortCreated', { portId: 'p1', deviceOwner: 'compute:nova' }),
        ipam('PortUpdated', { portId: 'p1', changes: { bindingHostId: 'h1', deviceId: 'vm1' } }),
        ipam('PortStatusChanged', { portId: 'p1', status: 'ACTIVE' }),
        event('agent', 'agent', 'h1', 'AgentRegistered'),
        event('ipam', 'quota', 'proj', 'QuotaLimitsSet'),
        event('l3', 'usage', 'proj', 'UsageReserved'),
        event('l3', 'registry', 'l3', 'FixedIpFloatingIpClaimed'),
      ),
    ).toEqual([]);
    expect(changed(intents, ipam('PortCreated', { portId: 'p2', deviceOwner: HA_PORT_OWNER }))).toBeUndefined();
    expect(changed(intents, ipam('PortUpdated', { portId: 'p2', changes: { fixedIps: [] } }))).toBeUndefined();
    // its floating IPs are let go of, on routers not known here
    expect(changed(intents, ipam('PortDeleted', { portId: 'p1' }))).toBeUndefined();
    expect(changed(intents, ipam('SubnetUpdated'))).toBeUndefined();
    expect(changed(intents, event('bgp', 'speaker', 's1', 'BgpSpeakerRoutesLearned'))).toBeUndefined();
  });
});
