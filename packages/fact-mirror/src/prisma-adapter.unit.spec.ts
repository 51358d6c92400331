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
