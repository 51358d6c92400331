import { describe, expect, it } from 'vitest';
import { factStream } from '@ncp/testing';
import { FactMirror, type MirrorTables } from './prisma-adapter';

const unused = () => {
  throw new Error('touches reads no table');
};
const table = { rows: unused, columns: [] };

describe('fact mirror: which events touch a service’s tables', () => {
  const events = factStream().add('server', 'net-a', 'DhcpServerScheduled', { host: 'h1', row: 'r1', pinned: false }).events;
  const typesTouching = (tables: MirrorTables<unknown>) =>
    [...new Set(events.filter((e) => new FactMirror(unused, tables).touches(e)).map((e) => e.envelope.type))].sort();

  it('a service without ports: only the network and subnet events, never a port event or another aggregate’s', () => {
    const types = typesTouching({ network: table, subnet: table });
    expect(types).toContain('NetworkCreated');
    expect(types).toContain('SubnetCreated');
    expect(types.filter((t) => t.startsWith('Port'))).toEqual([]);
    expect(types).not.toContain('DhcpServerScheduled');
  });

  it('a service keeping ports: the port events too', () => {
    expect(typesTouching({ port: table })).toEqual(expect.arrayContaining(['PortCreated', 'PortUpdated']));
    // a subnet's SLAAC addresses and a network's deletion change its ports; creating the network does not
    expect(typesTouching({ port: table })).not.toContain('NetworkCreated');
  });
});

/** Delegates over maps, counting the statements a real client would send. */
function memoryTables() {
  const statements = { reads: 0, writes: 0 };
  const states = new Map<string, unknown>();
  const rows = { port: new Map<string, object>(), network: new Map<string, object>(), subnet: new Map<string, object>() };
  const keysIn = (where: object): string[] => {
    const match = Object.values(where)[0] as string | { in: string[] };
    return typeof match === 'string' ? [match] : match.in;
  };
  const delegate = (m: Map<string, object>) => ({
    upsert: async ({ where, create }: { where: object; create: object }) => {
      statements.writes++;
      m.set(keysIn(where)[0] as string, create);
    },
    deleteMany: async ({ where }: { where: object }) => {
      statements.writes++;
      for (const key of keysIn(where)) m.delete(key);
    },
    createMany: async ({ data }: { data: object[] }) => {
      statements.writes++;
      for (const row of data) m.set(String(Object.values(row)[0]), row);
    },
  });
  // the states' one raw statement: its only value is the JSON of the states
  const tx = {
    $executeRaw: async (_query: TemplateStringsArray, json: unknown) => {
      statements.writes++;
      for (const { key, state } of JSON.parse(String(json)) as { key: string; state: unknown }[]) states.set(key, state);
      return 0;
    },
  };
  const mirror = new FactMirror<typeof tx>(
    () => ({
      findMany: async ({ where }) => {
        statements.reads++;
        return where.key.in.filter((k) => states.has(k)).map((key) => ({ key, state: states.get(key) }));
      },
    }),
    {
      network: { rows: () => delegate(rows.network), columns: ['name'] },
      subnet: { rows: () => delegate(rows.subnet), columns: ['cidr'] },
      port: { rows: () => delegate(rows.port), columns: ['networkId', 'fixedIps', 'bindingHostId'] },
    },
  );
  return { mirror, tx, states, rows, statements };
}

describe('fact mirror: a run of events at once', () => {
  const events = factStream().events;

  it('leaves the same rows and states as the events one by one, reading once and writing each row once', async () => {
    const oneByOne = memoryTables();
    for (const e of events) await oneByOne.mirror.apply(oneByOne.tx, e);
    const atOnce = memoryTables();
    await atOnce.mirror.applyRun(atOnce.tx, events);

    expect(atOnce.rows).toEqual(oneByOne.rows);
    expect(atOnce.states).toEqual(oneByOne.states);
    expect(atOnce.rows.port.size).toBeGreaterThan(0);
    expect(atOnce.statements.reads).toBe(1);
    expect(oneByOne.statements.reads).toBeGreaterThan(1);
    expect(atOnce.statements.writes).toBeLessThan(oneByOne.statements.writes);
  });

  it('gives the same result split into runs anywhere', async () => {
    const whole = memoryTables();
    await whole.mirror.applyRun(whole.tx, events);
    for (let cut = 1; cut < events.length; cut++) {
      const split = memoryTables();
      await split.mirror.applyRun(split.tx, events.slice(0, cut));
      await split.mirror.applyRun(split.tx, events.slice(cut));
      expect(split.rows).toEqual(whole.rows);
      expect(split.states).toEqual(whole.states);
    }
  });
});
