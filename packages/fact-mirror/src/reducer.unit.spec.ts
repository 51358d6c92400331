import { describe, expect, it } from 'vitest';
import { legacyAttributeEntryId, type RecordedEvent } from '@ncp/contracts';
import { FactStream, factStream, prng } from '@ncp/testing';
import { foldEvents, rowChanges, rowOps, type MirrorOp, type RowState } from './reducer';

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

// with an event of an aggregate the mirror does not fold
const events = factStream().add('server', 'net-a', 'DhcpServerScheduled', { host: 'h1', row: 'r1', pinned: false }).events;
const inOrder = tables(events.map((e) => [e]));

describe('fact mirror reducer', () => {
  it('folds the stream into the rows the facts say', () => {
    expect(Object.keys(inOrder.network ?? {})).toEqual(['net-a']);
    expect(inOrder.network?.['net-a']).toEqual({
      id: 'net-a',
      projectId: 'p',
      name: 'net',
      mtu: 1400,
      external: false,
      shared: false,
      networkType: 'vxlan',
      physicalNetwork: null,
    });
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
    expect(inOrder.port?.['port-02']).toMatchObject({
      fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.9' }],
      deviceId: 'vm-x',
      macAddress: 'fa:16:3e:00:00:02',
    });
    expect(inOrder.agent).toEqual({
      h1: { id: 'agent-r1-h1', row: 'r1', host: 'h1', roles: ['compute', 'network'], tunnelIp: '192.0.2.1', physnets: { physnet1: 'br-ex' } },
      h2: { id: 'agent-r2-h2', row: 'r2', host: 'h2', roles: ['compute', 'network'], tunnelIp: '192.0.2.2', physnets: { physnet1: 'br-ex' } },
    });
    expect(inOrder.router).toEqual({
      'rtr-2': { id: 'rtr-2', gatewayNetworkId: 'net-b', gatewayFixedIps: [{ subnetId: 'sub-b4', ipAddress: '203.0.113.3' }], host: null, row: null },
    });
    expect(inOrder.routerInterface).toEqual({
      'port-01': { portId: 'port-01', routerId: 'rtr-2', networkId: 'net-a', fixedIps: [{ subnetId: 'sub-a4', ipAddress: '10.0.0.5' }] },
    });
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
      for (let i = 0; i < order.length;) {
        const size = 1 + Math.floor(random() * 8);
        batches.push(order.slice(i, i + size));
        i += size;
      }
      expect(tables(batches)).toEqual(inOrder);
    }
  });

  it("a creation merged after its row's later deletion stays deleted", () => {
    const s = new FactStream()
      .add('floatingip', 'f', 'FloatingIpCreated', {
        projectId: 'p',
        description: '',
        floatingNetworkId: 'n',
        floatingPortId: 'fp',
        subnetId: 's',
        floatingIpAddress: '198.51.100.1',
      })
      .add('floatingip', 'f', 'FloatingIpDeleted', {});
    const [created, deleted] = s.events as [RecordedEvent, RecordedEvent];
    const states = foldEvents(foldEvents(new Map(), [deleted]), [created]);
    expect(rowOps(states, ['floatingIp:f'])).toEqual<MirrorOp[]>([{ table: 'floatingIp', op: 'delete', id: 'f' }]);
  });

  it("an update merged before its row's creation wins over the creation's value", () => {
    const [created, updated] = ['NetworkCreated', 'NetworkUpdated'].map((type) =>
      events.find((e) => e.envelope.type === type && e.envelope.aggregateId === 'net-a'),
    ) as [RecordedEvent, RecordedEvent];
    const halfway = foldEvents(new Map(), [updated]);
    // known only from an update, the row is not there yet
    expect(rowOps(halfway, ['network:net-a'])).toEqual<MirrorOp[]>([{ table: 'network', op: 'delete', id: 'net-a' }]);
    expect(rowOps(foldEvents(halfway, [created]), ['network:net-a'])).toMatchObject([{ op: 'upsert', row: { name: 'net', mtu: 1400 } }]);
  });

  it('folding leaves the states it was given as they were (states are values)', () => {
    const before = foldEvents(new Map(), events.slice(0, 5));
    const copy = structuredClone(before);
    foldEvents(before, events.slice(5));
    expect(before).toEqual(copy);
  });

  it("keeps networks' RBAC entries: by the ids events name, and for events written before RBAC by the ids derived from the network", () => {
    const segment = { networkType: 'vxlan', physicalNetwork: null, segmentationId: 7 };
    const attrs = { name: 'n', description: '', adminStateUp: true, shared: false, external: false, mtu: 1450, portSecurityEnabled: true };
    const stream = new FactStream()
      .add('network', 'net-c', 'NetworkCreated', { projectId: 'p', segment, ...attrs, shared: true, sharedPolicyId: 'w-1' })
      .add('network', 'net-c', 'RbacPolicyCreated', { policyId: 'e-1', action: 'access_as_external', targetProject: 'proj-b', projectId: 'p' })
      .add('network', 'net-c', 'RbacPolicyUpdated', { policyId: 'e-1', targetProject: 'proj-c' })
      .add('network', 'net-c', 'NetworkUpdated', { changes: { shared: false }, removedPolicyIds: ['w-1'] })
      // before RBAC: the shared wildcard has the derived id, and unsharing takes it
      .add('network', 'net-d', 'NetworkCreated', { projectId: 'p', segment, ...attrs, shared: true, external: true })
      .add('network', 'net-d', 'NetworkUpdated', { changes: { shared: false } });
    const rbac = [...stream.events];
    const rows = tables(rbac.map((e) => [e]));
    expect(rows.networkRbac).toEqual({
      'e-1': { id: 'e-1', networkId: 'net-c', action: 'access_as_external', targetProject: 'proj-c' },
      [legacyAttributeEntryId('net-d', 'access_as_external')]: {
        id: legacyAttributeEntryId('net-d', 'access_as_external'),
        networkId: 'net-d',
        action: 'access_as_external',
        targetProject: '*',
      },
    });
    expect(tables([[...rbac].reverse()])).toEqual(rows);
    const gone = stream.add('network', 'net-c', 'NetworkDeleted', { subnets: [], portIds: [], rbacPolicyIds: ['e-1'] }).events.slice(rbac.length);
    expect(gone).toHaveLength(1);
    expect(Object.keys(tables([rbac, gone]).networkRbac ?? {})).toEqual([legacyAttributeEntryId('net-d', 'access_as_external')]);
  });
});
