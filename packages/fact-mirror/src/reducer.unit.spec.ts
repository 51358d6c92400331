import { describe, expect, it } from 'vitest';
import { type RecordedEvent } from '@ncp/contracts';
import { foldEvents, rowChanges, rowOps, type MirrorOp, type RowState } from './reducer';

/** Records events as the stream would: one sequence each, in the order written. */
class Stream {
  readonly events: RecordedEvent[] = [];

  add(aggregate: string, aggregateId: string, type: string, data: object, actor = 'tester'): this {
    const sequence = this.events.length + 1;
    const occurredAt = new Date(Date.parse('2026-11-01T00:00:00.000Z') + sequence * 1000).toISOString();
    this.events.push({
      sequence,
      subject: `ev.x.${aggregate}.${aggregateId}`,
      envelope: { id: `e${sequence}`, schemaVersion: 1, aggregate, aggregateId, type, data, occurredAt, correlationId: `c${sequence}`, causationId: null, projectId: 'p', actor },
    });
    return this;
  }
}

const segment = { networkType: 'vxlan', physicalNetwork: null, segmentationId: 7 };
const networkAttrs = { name: 'net', description: '', adminStateUp: true, shared: false, external: false, mtu: 1450, portSecurityEnabled: true };
const subnetAttrs = { name: '', description: '', allocationPools: [], enableDhcp: true, dnsNameservers: [], hostRoutes: [], serviceTypes: [], subnetPoolId: null, addressScopeId: null };
const v4 = (subnetId: string, cidr: string, gatewayIp: string) => ({ subnetId, projectId: 'p', ipVersion: 4, cidr, gatewayIp, ipv6RaMode: null, ipv6AddressMode: null, ...subnetAttrs, autoAddresses: [] });
const port = (portId: string, fixedIps: { subnetId: string; ipAddress: string }[], extra: object = {}) => ({
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
const agent = (row: string, host: string) => ({ row, host, roles: ['l2', 'l3'], tunnelIp: `192.0.2.${host.slice(-1)}`, physnets: { physnet1: 'br-ex' } });

/** Every kind of event the mirror folds, with the cases that make order matter. */
function stream(): Stream {
  return (
    new Stream()
      .add('network', 'net-a', 'NetworkCreated', { projectId: 'p', segment, ...networkAttrs })
      .add('network', 'net-a', 'SubnetCreated', v4('sub-a4', '10.0.0.0/24', '10.0.0.1'))
      .add('network', 'net-a', 'PortCreated', port('port-01', [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }]))
      .add('network', 'net-a', 'PortCreated', port('port-02', [{ subnetId: 'sub-a4', ipAddress: '10.0.0.6' }]))
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
      .add('network', 'net-a', 'PortCreated', port('port-03', [{ subnetId: 'sub-a4', ipAddress: '10.0.0.7' }]), 'l3-service')
      .add('network', 'net-a', 'PortDeleted', { portId: 'port-03', fixedIps: [] })
      // a second network, deleted with what is left on it
      .add('network', 'net-b', 'NetworkCreated', { projectId: 'p', segment, ...networkAttrs, name: 'b', external: true })
      .add('network', 'net-b', 'SubnetCreated', v4('sub-b4', '203.0.113.0/24', '203.0.113.1'))
      .add('network', 'net-b', 'PortCreated', port('port-b1', [{ subnetId: 'sub-b4', ipAddress: '203.0.113.10' }]))
      .add('network', 'net-b', 'NetworkDeleted', { subnets: [{ subnetId: 'sub-b4', cidr: '203.0.113.0/24', subnetPoolId: null }], portIds: ['port-b1'] })
      // agents: h2 registers again under another row, which replaces the first
      .add('agent', 'agent-r1-h1', 'AgentRegistered', agent('r1', 'h1'))
      .add('agent', 'agent-r1-h2', 'AgentRegistered', agent('r1', 'h2'))
      .add('agent', 'agent-r1-h1', 'ResourceStatusReported', { host: 'h1', resources: [] })
      .add('agent', 'agent-r2-h2', 'AgentRegistered', agent('r2', 'h2'))
      // routers: an interface moves from one router to another, the first router goes
      .add('router', 'rtr-1', 'RouterCreated', { projectId: 'p', name: 'r', description: '', adminStateUp: true })
      .add('router', 'rtr-1', 'RouterGatewaySet', { networkId: 'net-b', portId: 'gw', enableSnat: true, fixedIps: [{ subnetId: 'sub-b4', ipAddress: '203.0.113.2' }] })
      .add('router', 'rtr-1', 'RouterScheduled', { host: 'h1', row: 'r1' })
      .add('router', 'rtr-1', 'RouterInterfaceAdded', { portId: 'port-01', networkId: 'net-a', fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }], subnets: [] })
      .add('router', 'rtr-2', 'RouterCreated', {
        projectId: 'p',
        name: 'r2',
        description: '',
        adminStateUp: true,
        gateway: { networkId: 'net-b', portId: 'gw2', enableSnat: true, fixedIps: [{ subnetId: 'sub-b4', ipAddress: '203.0.113.3' }] },
      })
      .add('router', 'rtr-1', 'RouterInterfaceRemoved', { portId: 'port-01' })
      .add('router', 'rtr-2', 'RouterInterfaceAdded', { portId: 'port-01', networkId: 'net-a', fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }], subnets: [] })
      .add('router', 'rtr-1', 'RouterGatewayCleared', { portId: 'gw' })
      .add('router', 'rtr-1', 'RouterDeleted', {})
      .add('router', 'rtr-2', 'RouterStatusChanged', { status: 'ACTIVE', reason: '' })
      // floating IPs: one associated, one associated and let go, one deleted
      .add('floatingip', 'fip-1', 'FloatingIpCreated', { projectId: 'p', description: '', floatingNetworkId: 'net-b', floatingPortId: 'fp1', subnetId: 'sub-b4', floatingIpAddress: '203.0.113.50' })
      .add('floatingip', 'fip-1', 'FloatingIpAssociated', { portId: 'port-01', fixedIpAddress: '10.0.0.5', routerId: 'rtr-2' })
      .add('floatingip', 'fip-2', 'FloatingIpCreated', { projectId: 'p', description: '', floatingNetworkId: 'net-b', floatingPortId: 'fp2', subnetId: 'sub-b4', floatingIpAddress: '203.0.113.51' })
      .add('floatingip', 'fip-2', 'FloatingIpAssociated', { portId: 'port-02', fixedIpAddress: '10.0.0.9', routerId: 'rtr-2' })
      .add('floatingip', 'fip-2', 'FloatingIpDisassociated', {})
      .add('floatingip', 'fip-3', 'FloatingIpCreated', { projectId: 'p', description: '', floatingNetworkId: 'net-b', floatingPortId: 'fp3', subnetId: 'sub-b4', floatingIpAddress: '203.0.113.52' })
      .add('floatingip', 'fip-3', 'FloatingIpDeleted', {})
      // an event of an aggregate the mirror does not fold
      .add('server', 'net-a', 'DhcpServerScheduled', { host: 'h1', row: 'r1', pinned: false })
  );
}

/** A deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * What the tables hold after folding the batches one after the other as the adapter does:
 * the states persist between batches, and each batch writes the rows of the keys it touched.
 */
function tables(batches: readonly (readonly RecordedEvent[])[]): Record<string, Record<string, unknown>> {
  let states = new Map<string, RowState>();
  const out: Record<string, Record<string, unknown>> = {};
  for (const batch of batches) {
    states = foldEvents(states, batch);
    const touched = new Set(batch.flatMap((e) => rowChanges(e).map((c) => c.key)));
    for (const op of rowOps(states, touched)) {
      const table = (out[op.table] ??= {});
      const id = op.op === 'delete' ? op.id : op.table === 'routerInterface' ? op.row.portId : op.table === 'agent' ? op.row.host : op.row.id;
      if (op.op === 'delete') delete table[id];
      else table[id] = op.row;
    }
  }
  return out;
}

const events = stream().events;
const inOrder = tables(events.map((e) => [e]));

describe('fact mirror reducer', () => {
  it('folds the stream into the rows the facts say', () => {
    expect(Object.keys(inOrder.network ?? {})).toEqual(['net-a']);
    expect(inOrder.network?.['net-a']).toEqual({ id: 'net-a', projectId: 'p', name: 'net', mtu: 1400, external: false, shared: false, networkType: 'vxlan', physicalNetwork: null });
    expect(Object.keys(inOrder.subnet ?? {}).sort()).toEqual(['sub-a4', 'sub-a6']);
    expect(inOrder.subnet?.['sub-a4']).toMatchObject({ networkId: 'net-a', gatewayIp: '10.0.0.254', dnsNameservers: ['192.0.2.53'], cidr: '10.0.0.0/24' });
    expect(Object.keys(inOrder.port ?? {}).sort()).toEqual(['port-01', 'port-02']);
    // port-01 got the SLAAC address on top of its own; port-02's update after it replaced all
    expect(inOrder.port?.['port-01']).toMatchObject({
      networkId: 'net-a',
      fixedIps: [
        { subnetId: 'sub-a4', ipAddress: '10.0.0.5' },
        { subnetId: 'sub-a6', ipAddress: 'fd00::5' },
      ],
      createdBy: 'tester',
      createdAt: events[2]?.envelope.occurredAt,
    });
    expect(inOrder.port?.['port-02']).toMatchObject({ fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.9' }], deviceId: 'vm-x', macAddress: 'fa:16:3e:00:00:02' });
    expect(inOrder.agent).toEqual({
      h1: { id: 'agent-r1-h1', row: 'r1', host: 'h1', roles: ['l2', 'l3'], tunnelIp: '192.0.2.1', physnets: { physnet1: 'br-ex' } },
      h2: { id: 'agent-r2-h2', row: 'r2', host: 'h2', roles: ['l2', 'l3'], tunnelIp: '192.0.2.2', physnets: { physnet1: 'br-ex' } },
    });
    expect(inOrder.router).toEqual({ 'rtr-2': { id: 'rtr-2', gatewayNetworkId: 'net-b', gatewayFixedIps: [{ subnetId: 'sub-b4', ipAddress: '203.0.113.3' }], host: null, row: null } });
    expect(inOrder.routerInterface).toEqual({ 'port-01': { portId: 'port-01', routerId: 'rtr-2', networkId: 'net-a', fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }] } });
    expect(inOrder.floatingIp).toEqual({
      'fip-1': { id: 'fip-1', floatingNetworkId: 'net-b', floatingIpAddress: '203.0.113.50', portId: 'port-01', fixedIpAddress: '10.0.0.5', routerId: 'rtr-2' },
      'fip-2': { id: 'fip-2', floatingNetworkId: 'net-b', floatingIpAddress: '203.0.113.51', portId: null, fixedIpAddress: null, routerId: null },
    });
  });

  it('reversed, the same rows', () => {
    expect(tables([...events].reverse().map((e) => [e]))).toEqual(inOrder);
  });

  it('every event twice, and the whole stream again, the same rows', () => {
    expect(tables(events.flatMap((e) => [[e], [e]]))).toEqual(inOrder);
    expect(tables([events, events])).toEqual(inOrder);
  });

  it('squashed into one batch, or split into random batches in random order, the same rows', () => {
    expect(tables([events])).toEqual(inOrder);
    const random = prng(15);
    for (let round = 0; round < 50; round++) {
      const order = shuffled(events, random);
      const batches: RecordedEvent[][] = [];
      for (let i = 0; i < order.length; ) {
        const size = 1 + Math.floor(random() * 8);
        batches.push(order.slice(i, i + size));
        i += size;
      }
      expect(tables(batches)).toEqual(inOrder);
    }
  });

  it('a creation merged after its row\'s later deletion stays deleted', () => {
    const s = new Stream().add('floatingip', 'f', 'FloatingIpCreated', { projectId: 'p', description: '', floatingNetworkId: 'n', floatingPortId: 'fp', subnetId: 's', floatingIpAddress: '198.51.100.1' }).add('floatingip', 'f', 'FloatingIpDeleted', {});
    const [created, deleted] = s.events as [RecordedEvent, RecordedEvent];
    const states = foldEvents(foldEvents(new Map(), [deleted]), [created]);
    expect(rowOps(states, ['floatingIp:f'])).toEqual<MirrorOp[]>([{ table: 'floatingIp', op: 'delete', id: 'f' }]);
  });

  it('an update merged before its row\'s creation wins over the creation\'s value', () => {
    const s = new Stream().add('network', 'n', 'NetworkCreated', { projectId: 'p', segment, ...networkAttrs }).add('network', 'n', 'NetworkUpdated', { changes: { name: 'renamed' } });
    const [created, updated] = s.events as [RecordedEvent, RecordedEvent];
    const halfway = foldEvents(new Map(), [updated]);
    // known only from an update, the row is not there yet
    expect(rowOps(halfway, ['network:n'])).toEqual<MirrorOp[]>([{ table: 'network', op: 'delete', id: 'n' }]);
    expect(rowOps(foldEvents(halfway, [created]), ['network:n'])).toMatchObject([{ op: 'upsert', row: { name: 'renamed', mtu: 1450 } }]);
  });

  it('folding leaves the states it was given as they were (states are values)', () => {
    const before = foldEvents(new Map(), events.slice(0, 5));
    const copy = structuredClone(before);
    foldEvents(before, events.slice(5));
    expect(before).toEqual(copy);
  });
});
