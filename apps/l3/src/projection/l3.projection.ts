import { type BgpSpeakerEvent, type L3Event, type Naming, type NetworkEvent } from '@ncp/contracts';
import { WholeStreamProjection, byType, firstRevision, nextRevision, quotaLimitsFold, someTypes, unchanged } from '@ncp/eventstore';
import { FactMirror } from '@ncp/fact-mirror';
import { type Prisma } from '../generated/prisma/client';
import { isL3Actor } from '../application/write-model';
import { type L3Tx } from '../infrastructure/prisma';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/** L3's columns of IPAM's networks, subnets and ports and of the agents. */
const mirror = new FactMirror<L3Tx>((tx) => tx.factMirror, {
  network: { rows: (tx) => tx.ipamNetwork, columns: ['projectId', 'external', 'shared', 'networkType', 'physicalNetwork'] },
  subnet: { rows: (tx) => tx.ipamSubnet, columns: ['networkId', 'projectId', 'ipVersion', 'cidr', 'gatewayIp', 'addressScopeId'] },
  port: {
    rows: (tx) => tx.ipamPort,
    columns: ['networkId', 'projectId', 'macAddress', 'deviceOwner', 'deviceId', 'bindingHostId', 'fixedIps'],
    derived: (p) => ({ createdByL3: isL3Actor(p.createdBy) }),
  },
  networkRbac: { rows: (tx) => tx.ipamNetworkRbac, columns: ['networkId', 'action', 'targetProject'] },
  agent: { rows: (tx) => tx.agent, columns: ['id', 'row', 'roles', 'tunnelIp', 'physnets'] },
});

/** Its own tables and its mirror's, emptied for a rebuild. */
const TABLES = [
  'router_floating_ips',
  'router_interfaces',
  'router_ha_hosts',
  'released_ha_networks',
  'routers',
  'floating_ips',
  'ipam_networks',
  'ipam_network_rbac',
  'ipam_subnets',
  'ipam_ports',
  'agents',
  'fact_mirror',
  'quota_limits',
  'bgp_speakers',
  'bgp_learned_routes',
];

/** The columns of a floating IP let go of its port. */
const disassociated = { portId: null, fixedIpAddress: null, routerId: null, status: 'DOWN' };

/** L3's own routers (with their interfaces and the floating IPs they NAT) and floating IPs. */
const l3 = byType<L3Tx, L3Event>({
  RouterCreated: (tx, { id, at, data: { gateway, routes, ...attributes } }) =>
    tx.router.create({
      data: {
        id,
        ...attributes,
        status: 'BUILD',
        gatewayNetworkId: gateway?.networkId ?? null,
        gatewayPortId: gateway?.portId ?? null,
        enableSnat: gateway?.enableSnat ?? true,
        gatewayFixedIps: json(gateway?.fixedIps ?? []),
        routes: json(routes ?? []),
        ...firstRevision(at),
      },
    }),
  RouterUpdated: (tx, { id, at, data }) => tx.router.update({ where: { id }, data: { ...data.changes, ...nextRevision(at) } }),
  RouterGatewaySet: (tx, { id, at, data }) =>
    tx.router.update({
      where: { id },
      data: {
        gatewayNetworkId: data.networkId,
        gatewayPortId: data.portId,
        enableSnat: data.enableSnat,
        gatewayFixedIps: json(data.fixedIps),
        ...nextRevision(at),
      },
    }),
  RouterGatewayCleared: (tx, { id, at }) =>
    tx.router.update({ where: { id }, data: { gatewayNetworkId: null, gatewayPortId: null, enableSnat: true, gatewayFixedIps: [], ...nextRevision(at) } }),
  RouterInterfaceAdded: async (tx, { id, at, data }) => {
    await tx.routerInterface.create({ data: { portId: data.portId, routerId: id, networkId: data.networkId, fixedIps: json(data.fixedIps) } });
    await tx.router.update({ where: { id }, data: nextRevision(at) });
  },
  RouterInterfaceRemoved: async (tx, { id, at, data }) => {
    await tx.routerInterface.deleteMany({ where: { portId: data.portId } });
    await tx.router.update({ where: { id }, data: nextRevision(at) });
  },
  RouterRoutesSet: (tx, { id, at, data }) => tx.router.update({ where: { id }, data: { routes: json(data.routes), ...nextRevision(at) } }),
  // placement and status are not API changes: no new revision
  RouterScheduled: (tx, { id, data }) => tx.router.update({ where: { id }, data: { host: data.host, row: data.row } }),
  RouterUnscheduled: (tx, { id }) => tx.router.update({ where: { id }, data: { host: null, row: null } }),
  RouterHaHostsSet: async (tx, { id, data }) => {
    await tx.routerHaHost.deleteMany({ where: { routerId: id, host: { notIn: data.hosts.map((h) => h.host) } } });
    for (const h of data.hosts) {
      await tx.routerHaHost.upsert({
        where: { routerId_host: { routerId: id, host: h.host } },
        create: { routerId: id, host: h.host, row: h.row, haPortId: h.haPortId },
        update: { row: h.row, haPortId: h.haPortId },
      });
    }
    await tx.router.update({ where: { id }, data: { haVrid: data.hosts.length > 0 ? data.vrid : null } });
  },
  RouterHaStateChanged: (tx, { id, data }) => tx.routerHaHost.updateMany({ where: { routerId: id, host: data.host }, data: { haState: data.haState } }),
  RouterStatusChanged: (tx, { id, data }) => tx.router.update({ where: { id }, data: { status: data.status } }),
  RouterDeleted: (tx, { id }) => tx.router.delete({ where: { id } }),
  RouterFloatingIpAttached: (tx, { id, data: { floatingIpId, fixedIpAddress, subnetId } }) => {
    const row = { routerId: id, fixedIpAddress, subnetId };
    return tx.routerFloatingIp.upsert({ where: { floatingIpId }, create: { floatingIpId, ...row }, update: row });
  },
  RouterFloatingIpDetached: (tx, { id, data }) => tx.routerFloatingIp.deleteMany({ where: { floatingIpId: data.floatingIpId, routerId: id } }),
  FloatingIpCreated: (tx, { id, at, data }) => tx.floatingIp.create({ data: { id, ...data, status: 'DOWN', ...firstRevision(at) } }),
  FloatingIpAssociated: (tx, { id, at, data }) => tx.floatingIp.update({ where: { id }, data: { ...data, ...nextRevision(at) } }),
  FloatingIpDisassociated: (tx, { id, at }) => tx.floatingIp.update({ where: { id }, data: { ...disassociated, ...nextRevision(at) } }),
  FloatingIpUpdated: (tx, { id, at, data }) => tx.floatingIp.update({ where: { id }, data: { ...data.changes, ...nextRevision(at) } }),
  FloatingIpStatusChanged: (tx, { id, data }) => tx.floatingIp.update({ where: { id }, data: { status: data.status } }),
  FloatingIpDeleted: (tx, { id }) => tx.floatingIp.delete({ where: { id } }),
  FixedIpFloatingIpClaimed: unchanged,
  FixedIpFloatingIpReleased: unchanged,
  // the HA networks and VRIDs are the aggregate's own (read when a router is placed); a network
  // let go is kept until IPAM no longer has it (the orphan sweeper deletes it there)
  HaNetworkClaimed: unchanged,
  HaNetworkReleased: (tx, { id, data }) =>
    tx.releasedHaNetwork.upsert({ where: { networkId: data.networkId }, create: { networkId: data.networkId, projectId: id }, update: {} }),
  HaVridAllocated: unchanged,
  HaVridReleased: unchanged,
});

/**
 * A floating IP on a deleted port is shown disassociated (and leaves the router's NAT) as
 * soon as the deletion is known here, before the reaction that disassociates it in its
 * aggregate (DisassociateFloatingIpsWhenPortDeleted) has written FloatingIpDisassociated:
 * the port's fixed address may be someone else's next moment.
 */
async function portsGone(tx: L3Tx, portIds: readonly string[]): Promise<void> {
  if (portIds.length === 0) return;
  await tx.floatingIp.updateMany({ where: { portId: { in: [...portIds] } }, data: disassociated });
}
const floatingIpsOfDeletedPorts = someTypes<L3Tx, NetworkEvent>({
  NetworkDeleted: (tx, { data }) => portsGone(tx, data.portIds),
  PortDeleted: (tx, { data }) => portsGone(tx, [data.portId]),
});

/**
 * L3's copy of the BGP speakers' gateway networks and of what their sessions learned (BGP's
 * events): a session's routes go with its peer, its host and its speaker, as in BGP.
 */
const bgpFacts = someTypes<L3Tx, BgpSpeakerEvent>({
  BgpSpeakerCreated: (tx, { id }) => tx.bgpSpeaker.create({ data: { id, networkIds: [] } }),
  BgpSpeakerNetworkAdded: async (tx, { id, data }) => {
    await tx.bgpSpeaker.update({ where: { id }, data: { networkIds: { push: data.networkId } } });
  },
  BgpSpeakerNetworkRemoved: async (tx, { id, data }) => {
    const speaker = await tx.bgpSpeaker.findUniqueOrThrow({ where: { id } });
    await tx.bgpSpeaker.update({ where: { id }, data: { networkIds: speaker.networkIds.filter((n) => n !== data.networkId) } });
  },
  BgpSpeakerPeerRemoved: (tx, { id, data }) => tx.bgpLearnedRoute.deleteMany({ where: { speakerId: id, peerId: data.peerId } }),
  BgpSpeakerScheduled: (tx, { id, data }) => tx.bgpLearnedRoute.deleteMany({ where: { speakerId: id, host: { notIn: data.hosts.map((h) => h.host) } } }),
  BgpSpeakerRoutesLearned: async (tx, { id, data: { peerId, host, routes } }) => {
    await tx.bgpLearnedRoute.deleteMany({ where: { speakerId: id, peerId, host } });
    await tx.bgpLearnedRoute.createMany({
      data: routes.map((r) => ({
        speakerId: id,
        peerId,
        host,
        destination: r.destination,
        nextHop: r.nextHop,
        asPathLength: r.asPath.length,
        med: r.med === null ? null : BigInt(r.med),
        localPref: r.localPref === null ? null : BigInt(r.localPref),
      })),
    });
  },
  BgpSpeakerDeleted: async (tx, { id }) => {
    await tx.bgpSpeaker.deleteMany({ where: { id } });
    await tx.bgpLearnedRoute.deleteMany({ where: { speakerId: id } });
  },
});

/**
 * One projection over the whole stream (NATS 2.9 allows one filter per consumer): L3's own
 * routers and floating IPs, and its copy of the IPAM and agent facts (and quota limits) and of
 * the BGP speakers' learned routes it reads.
 */
export class L3Projection extends WholeStreamProjection<L3Tx> {
  constructor(naming: Naming) {
    super('l3', naming, { l3: '*', ipam: ['network', 'quota'], agent: ['agent'], bgp: ['speaker'] }, TABLES, {
      router: l3,
      floatingip: l3,
      registry: l3,
      hanetwork: l3,
      network: [floatingIpsOfDeletedPorts, mirror],
      agent: mirror,
      // the projects' quota overrides (IPAM's), for the limits of routers and floating IPs
      quota: quotaLimitsFold((tx) => tx.quotaLimit),
      // the routes the BGP speakers learned, for the routers of their networks
      speaker: bgpFacts,
    });
  }
}
