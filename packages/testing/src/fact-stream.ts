import {
  type IpamEventOf,
  type RecordedEvent,
  EventRegistry,
  agentEventDefinitions,
  bgpEventDefinitions,
  dhcpEventDefinitions,
  ipamEventDefinitions,
  l3EventDefinitions,
  metaEventDefinitions,
  quotaEventDefinitions,
  sgEventDefinitions,
  sgProjectEventDefinitions,
  usageEventDefinitions,
} from '@ncp/contracts';
import { createTestDatabase, testInfra } from './infra';
import { deployMigrations } from './stack';

const registry = new EventRegistry([
  ...ipamEventDefinitions,
  ...agentEventDefinitions,
  ...l3EventDefinitions,
  ...dhcpEventDefinitions,
  ...bgpEventDefinitions,
  ...metaEventDefinitions,
  ...sgEventDefinitions,
  ...sgProjectEventDefinitions,
  ...quotaEventDefinitions,
  ...usageEventDefinitions,
]);
const CONTEXT: Record<string, string> = {
  network: 'ipam',
  agent: 'agent',
  router: 'l3',
  floatingip: 'l3',
  server: 'dhcp',
  speaker: 'bgp',
  peer: 'bgp',
  instance: 'meta',
  group: 'sg',
  project: 'sg',
};

/**
 * Records events as the stream would: one sequence each, in the order written, each valid as
 * its contract says (real events, not look-alikes).
 */
export class FactStream {
  readonly events: RecordedEvent[] = [];

  add(aggregate: string, aggregateId: string, type: string, data: object, actor = 'tester'): this {
    const sequence = this.events.length + 1;
    const occurredAt = new Date(Date.parse('2026-11-01T00:00:00.000Z') + sequence * 1000).toISOString();
    registry.validateLatest(type, data);
    this.events.push({
      sequence,
      subject: `ev.${CONTEXT[aggregate] ?? aggregate}.${aggregate}.${aggregateId}`,
      envelope: {
        id: `e${sequence}`,
        schemaVersion: registry.latestVersion(type),
        aggregate,
        aggregateId,
        type,
        data,
        occurredAt,
        correlationId: `c${sequence}`,
        causationId: null,
        projectId: 'p',
        actor,
      },
    });
    return this;
  }
}

const segment = { networkType: 'vxlan', physicalNetwork: null, segmentationId: 7 };
const networkAttrs = { name: 'net', description: '', adminStateUp: true, shared: false, external: false, mtu: 1450, portSecurityEnabled: true };
const subnetAttrs = {
  name: '',
  description: '',
  allocationPools: [],
  enableDhcp: true,
  dnsNameservers: [],
  hostRoutes: [],
  serviceTypes: [],
  subnetPoolId: null,
  addressScopeId: null,
};
type SubnetCreatedData = IpamEventOf<'SubnetCreated'>['data'];
/** A SubnetCreated's data: no gateway, DHCP on, nothing else set unless `extra` says. */
export const factSubnet = (subnetId: string, cidr: string, extra: Partial<SubnetCreatedData> = {}): SubnetCreatedData => ({
  subnetId,
  projectId: 'p',
  ipVersion: cidr.includes(':') ? 6 : 4,
  cidr,
  gatewayIp: null,
  ipv6RaMode: null,
  ipv6AddressMode: null,
  ...subnetAttrs,
  autoAddresses: [],
  ...extra,
});
const v4 = (subnetId: string, cidr: string, gatewayIp: string) => factSubnet(subnetId, cidr, { gatewayIp });
type PortCreatedData = IpamEventOf<'PortCreated'>['data'];
/** A PortCreated's data. */
export const factPort = (portId: string, fixedIps: { subnetId: string; ipAddress: string }[], extra: Partial<PortCreatedData> = {}): PortCreatedData => ({
  portId,
  projectId: 'p',
  status: 'DOWN',
  name: '',
  description: '',
  adminStateUp: true,
  macAddress: `fa:16:3e:00:00:${portId.slice(-2)}`,
  fixedIps,
  deviceOwner: 'compute:nova',
  deviceId: `vm-${portId}`,
  bindingHostId: 'h1',
  bindingProfile: {},
  bindingVnicType: 'normal',
  portSecurityEnabled: true,
  securityGroups: [],
  allowedAddressPairs: [],
  extraDhcpOpts: [],
  ...extra,
});
const routerAttrs = { description: '', adminStateUp: true, ha: false, distributed: false, natExclusions: [] };
const agent = (row: string, host: string) => ({
  row,
  host,
  roles: ['compute', 'network'],
  tunnelIp: `192.0.2.${host.slice(-1)}`,
  physnets: { physnet1: 'br-ex' },
  version: '1',
  startedAt: '2026-11-01T00:00:00.000Z',
});

/**
 * Every kind of IPAM, agent and L3 event other services mirror, with the cases that make order
 * matter: a SLAAC subnet addressing existing ports, a port re-addressed after it, a network
 * deleted with its subnet and port, an agent registered again on its host under another row,
 * an interface moved from one router to another, floating IPs associated, let go and deleted.
 * What is left: network net-a (mtu 1400) with subnets sub-a4 (gateway 10.0.0.254) and sub-a6,
 * ports port-01 (10.0.0.5, fd00::5) and port-02 (10.0.0.9); agents agent-r1-h1 on h1 and
 * agent-r2-h2 on h2; router rtr-2 (gateway on net-b, interface port-01); floating IPs fip-1
 * (on port-01 through rtr-2) and fip-2 (free).
 */
export function factStream(): FactStream {
  return (
    new FactStream()
      .add('network', 'net-a', 'NetworkCreated', { projectId: 'p', segment, ...networkAttrs })
      .add('network', 'net-a', 'SubnetCreated', v4('sub-a4', '10.0.0.0/24', '10.0.0.1'))
      .add('network', 'net-a', 'PortCreated', factPort('port-01', [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }]))
      .add('network', 'net-a', 'PortCreated', factPort('port-02', [{ subnetId: 'sub-a4', ipAddress: '10.0.0.6' }]))
      // a SLAAC subnet addresses both existing ports; port-02 is re-addressed afterwards
      .add('network', 'net-a', 'SubnetCreated', {
        ...v4('sub-a6', 'fd00::/64', 'fd00::1'),
        ipVersion: 6,
        ipv6RaMode: 'slaac',
        ipv6AddressMode: 'slaac',
        autoAddresses: [
          { portId: 'port-01', ipAddress: 'fd00::5' },
          { portId: 'port-02', ipAddress: 'fd00::6' },
        ],
      })
      .add('network', 'net-a', 'PortUpdated', { portId: 'port-02', changes: { fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.9' }], deviceId: 'vm-x' } })
      .add('network', 'net-a', 'PortStatusChanged', { portId: 'port-01', status: 'ACTIVE', reason: '' })
      .add('network', 'net-a', 'NetworkUpdated', { changes: { mtu: 1400, description: 'ignored' } })
      .add('network', 'net-a', 'SubnetUpdated', { subnetId: 'sub-a4', changes: { gatewayIp: '10.0.0.254', dnsNameservers: ['192.0.2.53'] } })
      .add('network', 'net-a', 'PortCreated', factPort('port-03', [{ subnetId: 'sub-a4', ipAddress: '10.0.0.7' }]), 'l3-service')
      .add('network', 'net-a', 'PortDeleted', { portId: 'port-03', fixedIps: [] })
      // a second network, deleted with what is left on it
      .add('network', 'net-b', 'NetworkCreated', { projectId: 'p', segment, ...networkAttrs, name: 'b', external: true })
      .add('network', 'net-b', 'SubnetCreated', v4('sub-b4', '203.0.113.0/24', '203.0.113.1'))
      .add('network', 'net-b', 'PortCreated', factPort('port-b1', [{ subnetId: 'sub-b4', ipAddress: '203.0.113.10' }]))
      .add('network', 'net-b', 'NetworkDeleted', { subnets: [{ subnetId: 'sub-b4', cidr: '203.0.113.0/24', subnetPoolId: null }], portIds: ['port-b1'] })
      // agents: h2 registers again under another row, which replaces the first
      .add('agent', 'agent-r1-h1', 'AgentRegistered', agent('r1', 'h1'))
      .add('agent', 'agent-r1-h2', 'AgentRegistered', agent('r1', 'h2'))
      .add('agent', 'agent-r1-h1', 'ResourceStatusReported', { host: 'h1', resources: [] })
      .add('agent', 'agent-r2-h2', 'AgentRegistered', agent('r2', 'h2'))
      // routers: an interface moves from one router to another, the first router goes
      .add('router', 'rtr-1', 'RouterCreated', { projectId: 'p', name: 'r', ...routerAttrs })
      .add('router', 'rtr-1', 'RouterGatewaySet', {
        networkId: 'net-b',
        portId: 'gw',
        enableSnat: true,
        fixedIps: [{ subnetId: 'sub-b4', ipAddress: '203.0.113.2' }],
        subnets: [{ subnetId: 'sub-b4', cidr: '203.0.113.0/24' }],
      })
      .add('router', 'rtr-1', 'RouterScheduled', { host: 'h1', row: 'r1' })
      .add('router', 'rtr-1', 'RouterInterfaceAdded', {
        portId: 'port-01',
        networkId: 'net-a',
        fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }],
        subnets: [],
      })
      .add('router', 'rtr-2', 'RouterCreated', {
        projectId: 'p',
        name: 'r2',
        ...routerAttrs,
        gateway: {
          networkId: 'net-b',
          portId: 'gw2',
          enableSnat: true,
          fixedIps: [{ subnetId: 'sub-b4', ipAddress: '203.0.113.3' }],
          subnets: [{ subnetId: 'sub-b4', cidr: '203.0.113.0/24' }],
        },
      })
      .add('router', 'rtr-1', 'RouterInterfaceRemoved', { portId: 'port-01' })
      .add('router', 'rtr-2', 'RouterInterfaceAdded', {
        portId: 'port-01',
        networkId: 'net-a',
        fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }],
        subnets: [],
      })
      .add('router', 'rtr-1', 'RouterGatewayCleared', { portId: 'gw' })
      .add('router', 'rtr-1', 'RouterDeleted', {})
      .add('router', 'rtr-2', 'RouterStatusChanged', { status: 'ACTIVE', reason: '' })
      // floating IPs: one associated, one associated and let go, one deleted
      .add('floatingip', 'fip-1', 'FloatingIpCreated', {
        projectId: 'p',
        description: '',
        floatingNetworkId: 'net-b',
        floatingPortId: 'fp1',
        subnetId: 'sub-b4',
        floatingIpAddress: '203.0.113.50',
      })
      .add('floatingip', 'fip-1', 'FloatingIpAssociated', { portId: 'port-01', fixedIpAddress: '10.0.0.5', routerId: 'rtr-2' })
      .add('floatingip', 'fip-2', 'FloatingIpCreated', {
        projectId: 'p',
        description: '',
        floatingNetworkId: 'net-b',
        floatingPortId: 'fp2',
        subnetId: 'sub-b4',
        floatingIpAddress: '203.0.113.51',
      })
      .add('floatingip', 'fip-2', 'FloatingIpAssociated', { portId: 'port-02', fixedIpAddress: '10.0.0.9', routerId: 'rtr-2' })
      .add('floatingip', 'fip-2', 'FloatingIpDisassociated', {})
      .add('floatingip', 'fip-3', 'FloatingIpCreated', {
        projectId: 'p',
        description: '',
        floatingNetworkId: 'net-b',
        floatingPortId: 'fp3',
        subnetId: 'sub-b4',
        floatingIpAddress: '203.0.113.52',
      })
      .add('floatingip', 'fip-3', 'FloatingIpDeleted', {})
  );
}

/** What the projection int tests use of a service's Prisma client and projection. */
export interface ProjectionUnderTest<Tx> {
  client: { $transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>; $queryRawUnsafe<T>(query: string): Promise<T> };
  projection: {
    reset(tx: Tx): Promise<void>;
    apply(tx: Tx, event: RecordedEvent): Promise<void>;
    /** as a projection runner folds a batch, when the projection takes batches */
    applyBatch?(tx: Tx, events: readonly RecordedEvent[]): Promise<void>;
  };
  /** The Postgres schema of the service's tables. */
  schema: string;
}

/** A scratch database with a service's migrations, and a client on it; `close` disconnects and drops it. */
export async function serviceDatabase<C extends { $disconnect(): Promise<void> }>(
  service: Parameters<typeof deployMigrations>[0],
  connect: (url: string) => C,
): Promise<{ client: C; close: () => Promise<void> }> {
  const db = await createTestDatabase((await testInfra()).databaseUrl);
  await deployMigrations(service, db.url);
  const client = connect(db.url);
  return {
    client,
    close: async () => {
      await client.$disconnect();
      await db.drop();
    },
  };
}

export interface ProjectionDatabase<C, Tx> {
  client: C;
  p: ProjectionUnderTest<Tx>;
  close: () => Promise<void>;
}

/** A service's projection on a scratch database with its migrations: `client` to read the tables, `p` to apply events. */
export async function projectionDatabase<C extends ProjectionUnderTest<Tx>['client'] & { $disconnect(): Promise<void> }, Tx>(
  service: Parameters<typeof deployMigrations>[0],
  connect: (url: string) => C,
  projection: ProjectionUnderTest<Tx>['projection'],
  schema: string,
): Promise<ProjectionDatabase<C, Tx>> {
  const db = await serviceDatabase(service, connect);
  return { ...db, p: { client: db.client, projection, schema } };
}

/**
 * The tables after the events; rebuilt from them; rebuilt from them in one batch (as a
 * projection runner folds them when they arrive together); with the foreign events (those of
 * the aggregates the service mirrors) delivered once more; and rebuilt with the foreign events
 * reversed, before the service's own in order.
 */
export async function replayedTables<Tx>(
  p: ProjectionUnderTest<Tx>,
  events: readonly RecordedEvent[],
  isForeign: (aggregate: string) => boolean,
  tables: readonly string[],
): Promise<Record<'once' | 'rebuilt' | 'inOneBatch' | 'redelivered' | 'reversed', Record<string, string[]>>> {
  const foreign = events.filter((e) => isForeign(e.envelope.aggregate));
  const own = events.filter((e) => !isForeign(e.envelope.aggregate));
  await applyEach(p, events);
  const once = await dumpTables(p, tables);
  await applyEach(p, events);
  const rebuilt = await dumpTables(p, tables);
  await applyInOneBatch(p, events);
  const inOneBatch = await dumpTables(p, tables);
  await applyEach(p, events);
  await applyEach(p, foreign, false);
  const redelivered = await dumpTables(p, tables);
  await applyEach(p, [...[...foreign].reverse(), ...own]);
  return { once, rebuilt, inOneBatch, redelivered, reversed: await dumpTables(p, tables) };
}

/** Applies events one transaction each, after emptying the projection (a rebuild) unless `reset` is false. */
export async function applyEach<Tx>(p: ProjectionUnderTest<Tx>, events: readonly RecordedEvent[], reset = true): Promise<void> {
  if (reset) await p.client.$transaction((tx) => p.projection.reset(tx));
  for (const event of events) await p.client.$transaction((tx) => p.projection.apply(tx, event));
}

/** Empties the projection and applies the events in one transaction, as one batch when the projection takes batches. */
export async function applyInOneBatch<Tx>(p: ProjectionUnderTest<Tx>, events: readonly RecordedEvent[]): Promise<void> {
  await p.client.$transaction(async (tx) => {
    await p.projection.reset(tx);
    if (p.projection.applyBatch) await p.projection.applyBatch(tx, events);
    else for (const event of events) await p.projection.apply(tx, event);
  });
}

/** Each table's rows as JSON text, sorted: equal dumps, equal tables. */
export async function dumpTables<Tx>(p: ProjectionUnderTest<Tx>, tables: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    const rows = await p.client.$queryRawUnsafe<{ r: string }[]>(`SELECT row_to_json(t)::text AS r FROM "${p.schema}"."${t}" t ORDER BY 1`);
    out[t] = rows.map((row) => row.r);
  }
  return out;
}
