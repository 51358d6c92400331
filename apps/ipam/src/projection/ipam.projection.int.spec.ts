import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Naming, type CommandMetadata, type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { createScratchSchema } from '@ncp/eventstore';
import { createTestDatabase, deployIpamMigrations, prng, testInfra, type TestDatabase } from '@ncp/testing';
import { portRequest, subnetRequest } from '../domain/__fixtures__/ipam';
import { networkDecider, type NetworkCommand } from '../domain/network.decider';
import { formatFixedIp, type NetworkState } from '../domain/network.state';
import { IPAM_SCHEMA, createPrisma, type IpamPrisma } from '../infrastructure/prisma';
import { IpamProjection } from './ipam.projection';

/**
 * The projection folds runs of port events set-wise. Whatever the batches, the tables must
 * be what one event at a time gives, and what the write model says.
 */

const TABLES = ['networks', 'subnets', 'ports', 'port_fixed_ips'];
const NET_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const NET_B = 'bbbbbbbb-0000-4000-8000-000000000002';

/** Runs commands through IPAM's network decider and records its events as the stream would. */
class StreamWriter {
  readonly events: RecordedEvent[] = [];
  readonly states = new Map<string, NetworkState>();
  private clock = Date.parse('2026-11-01T00:00:00.000Z');

  run(command: NetworkCommand): void {
    const state = this.states.get(command.id) ?? networkDecider.initialState();
    const meta: CommandMetadata = {
      now: new Date(this.clock).toISOString(),
      correlationId: `c${this.events.length}`,
      causationId: null,
      projectId: 'project-a',
      actor: 'tester',
      isAdmin: true,
    };
    this.clock += 7;
    let next = state;
    for (const event of networkDecider.decide(command, state, meta) as readonly NetworkEvent[]) {
      next = networkDecider.evolve(next, event);
      this.events.push({
        sequence: this.events.length + 1,
        subject: `ev.ipam.network.${command.id}`,
        envelope: {
          id: `e${this.events.length}`,
          schemaVersion: 1,
          aggregate: 'network',
          aggregateId: command.id,
          occurredAt: meta.now,
          correlationId: meta.correlationId,
          causationId: null,
          projectId: 'project-a',
          actor: 'tester',
          ...event,
        },
      });
    }
    this.states.set(command.id, next);
  }

  ports(networkId: string): string[] {
    return [...(this.states.get(networkId)?.ports.keys() ?? [])];
  }
}

/** Two networks, 600 port commands, a SLAAC subnet added and removed in between, one network deleted. */
function stream(seed: number): StreamWriter {
  const w = new StreamWriter();
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)];
    if (item === undefined) throw new Error('nothing to pick');
    return item;
  };
  const segment = { networkType: 'vxlan' as const, physicalNetwork: null, segmentationId: 0 };
  const mtuPolicy = { physicalMtu: 1500, vxlanOverhead: 50 };
  const attributes = { name: 'n', description: '', adminStateUp: true, shared: false, external: false, portSecurityEnabled: true };
  const slaac = { ipv6RaMode: 'slaac', ipv6AddressMode: 'slaac' } as const;
  for (const [i, id] of [NET_A, NET_B].entries()) {
    w.run({ type: 'CreateNetwork', id, projectId: 'project-a', attributes, segment: { ...segment, segmentationId: 100 + i }, mtuPolicy });
    w.run({ type: 'CreateSubnet', id, subnetId: `${id.slice(0, 8)}-v4`, projectId: 'project-a', request: subnetRequest(`10.${i}.0.0/24`) });
    w.run({ type: 'CreateSubnet', id, subnetId: `${id.slice(0, 8)}-v6`, projectId: 'project-a', request: subnetRequest(`fd00:${i}::/64`, slaac) });
  }
  let created = 0;
  for (let step = 0; step < 600; step++) {
    if (step === 200) w.run({ type: 'CreateSubnet', id: NET_A, subnetId: 'extra-v6', projectId: 'project-a', request: subnetRequest('fd00:a::/64', slaac) });
    if (step === 400) w.run({ type: 'DeleteSubnet', id: NET_A, subnetId: 'extra-v6' });
    const id = pick([NET_A, NET_B]);
    const ports = w.ports(id);
    const r = random();
    if (ports.length < 3 || r < 0.3) {
      w.run({
        type: 'CreatePort',
        id,
        portId: `port-${created++}`,
        projectId: 'project-a',
        request: { ...portRequest, name: `p${step}` },
        macPrefix: 'fa:16:3e',
        groups: { confirmed: [], defaultSecurityGroupId: 'default-group' },
      });
      continue;
    }
    const portId = pick(ports);
    const v4 = `${id.slice(0, 8)}-v4`;
    if (r < 0.4) w.run({ type: 'DeletePort', id, portId });
    else if (r < 0.55)
      w.run({ type: 'UpdatePort', id, portId, changes: { fixedIps: random() < 0.5 ? [{ subnetId: v4 }, { subnetId: v4 }] : [{ subnetId: v4 }] } });
    else if (r < 0.7)
      w.run({ type: 'UpdatePort', id, portId, changes: { bindingHostId: pick(['h1', 'h2']), deviceId: `vm-${step}`, bindingProfile: { step } } });
    else if (r < 0.8)
      w.run({
        type: 'SetPortStatus',
        id,
        portId,
        host: w.states.get(id)?.ports.get(portId)?.bindingHostId ?? '',
        status: pick(['ACTIVE', 'DOWN']),
        reason: '',
      });
    else
      w.run({
        type: 'UpdatePort',
        id,
        portId,
        changes: { name: `renamed-${step}`, extraDhcpOpts: [{ optName: 'mtu', optValue: String(1400 + step), ipVersion: 4 }] },
      });
  }
  for (const portId of w.ports(NET_B)) w.run({ type: 'DeletePort', id: NET_B, portId });
  w.run({ type: 'DeleteNetwork', id: NET_B });
  return w;
}

let db: TestDatabase;
let prisma: IpamPrisma;
const projection = new IpamProjection(new Naming());
const written = stream(7);

async function dump(client: IpamPrisma, schema: string): Promise<Record<string, string[]>> {
  const tables: Record<string, string[]> = {};
  for (const t of TABLES) {
    const rows = await client.$queryRawUnsafe<{ r: string }[]>(`SELECT row_to_json(t)::text AS r FROM "${schema}"."${t}" t ORDER BY 1`);
    tables[t] = rows.map((row) => row.r);
  }
  return tables;
}

/** Empties the tables, then applies the stream in transactions of the given sizes. */
async function applyInBatches(client: IpamPrisma, sizes: () => number): Promise<void> {
  await client.$transaction((tx) => projection.reset(tx));
  for (let i = 0; i < written.events.length;) {
    const batch = written.events.slice(i, i + sizes());
    await client.$transaction((tx) => projection.applyBatch(tx, batch), { timeout: 60_000 });
    i += batch.length;
  }
}

beforeAll(async () => {
  const infra = await testInfra();
  db = await createTestDatabase(infra.databaseUrl);
  await deployIpamMigrations(db.url);
  const url = new URL(db.url);
  url.searchParams.set('schema', IPAM_SCHEMA);
  prisma = createPrisma(url.toString());
});

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

describe('IPAM projection: port events folded set-wise', () => {
  it('the stream exercises every port event, in runs and around other events', () => {
    const types = written.events.map((e) => e.envelope.type);
    for (const t of ['PortCreated', 'PortUpdated', 'PortStatusChanged', 'PortDeleted', 'SubnetCreated', 'SubnetDeleted', 'NetworkDeleted'])
      expect(types).toContain(t);
    const autoAddressed = written.events.find(
      (e) => e.envelope.type === 'SubnetCreated' && (e.envelope.data as { autoAddresses: unknown[] }).autoAddresses.length > 0,
    );
    expect(autoAddressed).toBeDefined();
  });

  it('one event per transaction, one transaction for all, and random batches give the same tables', async () => {
    await applyInBatches(prisma, () => 1);
    const oneByOne = await dump(prisma, IPAM_SCHEMA);
    await applyInBatches(prisma, () => written.events.length);
    expect(await dump(prisma, IPAM_SCHEMA)).toEqual(oneByOne);
    const random = prng(11);
    await applyInBatches(prisma, () => 1 + Math.floor(random() * 40));
    expect(await dump(prisma, IPAM_SCHEMA)).toEqual(oneByOne);
    // not empty by accident: network A's ports are there, network B and its rows are gone
    expect(oneByOne.networks).toHaveLength(1);
    expect(oneByOne.subnets).toHaveLength(2);
    expect(oneByOne.ports?.length).toBe(written.ports(NET_A).length);
    // three full folds, one of them a transaction per event: beside the clustered scenario's
    // seventeen processes on two cores, 30 s was not always enough
  }, 120_000);

  it("the ports are the write model's: addresses, binding, status and revision", async () => {
    await applyInBatches(prisma, () => 500);
    const rows = await prisma.port.findMany({ include: { fixedIps: true } });
    const state = written.states.get(NET_A);
    expect(rows.map((p) => p.id).sort()).toEqual(written.ports(NET_A).sort());
    for (const row of rows) {
      const port = state?.ports.get(row.id);
      expect({ mac: row.macAddress, host: row.bindingHostId, device: row.deviceId, status: row.status, revision: row.revisionNumber }).toEqual({
        mac: port?.macAddress,
        host: port?.bindingHostId,
        device: port?.deviceId,
        status: port?.status,
        revision: port?.revision,
      });
      const expected = (port?.fixedIps ?? []).map((f) => {
        const subnet = state?.subnets.get(f.subnetId);
        return subnet ? `${f.subnetId} ${formatFixedIp(subnet, f.ip)}` : `${f.subnetId} ?`;
      });
      expect(row.fixedIps.map((f) => `${f.subnetId} ${f.ipAddress}`).sort()).toEqual(expected.sort());
    }
    // a port in the table that the run updates, re-addresses and deletes leaves nothing behind
    expect(await prisma.portFixedIp.count({ where: { portId: { notIn: rows.map((p) => p.id) } } })).toBe(0);
  });

  it('a replay into a scratch schema gives the same tables (deleting a network cascades there too)', async () => {
    await applyInBatches(prisma, () => 500);
    const live = await dump(prisma, IPAM_SCHEMA);
    await createScratchSchema(prisma, IPAM_SCHEMA, 'replay_fold_test');
    const url = new URL(db.url);
    url.searchParams.set('schema', 'replay_fold_test');
    const scratch = createPrisma(url.toString(), 'replay_fold_test');
    try {
      for (let i = 0; i < written.events.length; i += 500) {
        const batch = written.events.slice(i, i + 500);
        await scratch.$transaction((tx) => projection.applyBatch(tx, batch), { timeout: 60_000 });
      }
      expect(await dump(scratch, 'replay_fold_test')).toEqual(live);
    } finally {
      await scratch.$disconnect();
    }
  });

  it('an event on a port the projection does not have fails the batch and changes nothing', async () => {
    await applyInBatches(prisma, () => 500);
    const before = await dump(prisma, IPAM_SCHEMA);
    const last = written.events.at(-1);
    if (!last) throw new Error('empty stream');
    const orphan: RecordedEvent = {
      sequence: last.sequence + 1,
      subject: `ev.ipam.network.${NET_A}`,
      envelope: { ...last.envelope, id: 'orphan', aggregateId: NET_A, type: 'PortUpdated', data: { portId: 'no-such-port', changes: { name: 'x' } } },
    };
    const created = written.events.find((e) => e.envelope.type === 'PortCreated' && e.envelope.aggregateId === NET_A);
    if (!created) throw new Error('no PortCreated');
    const fresh: RecordedEvent = {
      ...created,
      sequence: last.sequence + 2,
      envelope: { ...created.envelope, data: { ...(created.envelope.data as object), portId: 'fresh-port' } },
    };
    await expect(prisma.$transaction((tx) => projection.applyBatch(tx, [fresh, orphan]))).rejects.toThrow(
      /PortUpdated: port no-such-port not in the projection/,
    );
    expect(await dump(prisma, IPAM_SCHEMA)).toEqual(before);
  });

  it('analyze gives the planner the size and statistics of every table the port lookups read', async () => {
    await applyInBatches(prisma, () => 500);
    await prisma.$transaction((tx) => projection.analyze(tx));
    for (const table of TABLES) {
      // what ANALYZE alone sets after the reset's TRUNCATE (autovacuum is off on the test machines)
      const [planned] = await prisma.$queryRaw<{ reltuples: number }[]>`
        SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${IPAM_SCHEMA} AND c.relname = ${table}`;
      const [counted] = await prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${IPAM_SCHEMA}"."${table}"`);
      expect({ table, reltuples: Number(planned?.reltuples) }).toEqual({ table, reltuples: Number(counted?.n) });
    }
    const [columns] = await prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM pg_stats WHERE schemaname = ${IPAM_SCHEMA} AND tablename = 'port_fixed_ips'`;
    expect(Number(columns?.n)).toBeGreaterThan(0);
  });
});
