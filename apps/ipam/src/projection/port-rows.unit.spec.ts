import { describe, expect, it } from 'vitest';
import { type NetworkEvent, type RecordedEvent } from '@ncp/contracts';
import { portCreated } from '../domain/__fixtures__/ipam';
import { PORT_COLUMNS, foldPortRun, isPortEvent, portRunReads, type PortRecordedEvent, type PortRow } from './port-rows';

const NET = 'net-1';
let sequence = 0;
function recorded(event: NetworkEvent, at = '2026-11-01T00:00:00.000Z'): PortRecordedEvent {
  const e: RecordedEvent = {
    sequence: ++sequence,
    subject: `ev.ipam.network.${NET}`,
    envelope: {
      id: `e${sequence}`,
      schemaVersion: 1,
      aggregate: 'network',
      aggregateId: NET,
      occurredAt: at,
      correlationId: 'c',
      causationId: null,
      projectId: 'project-a',
      actor: 't',
      ...event,
    },
  };
  if (!isPortEvent(e)) throw new Error(`${event.type} is not a port event`);
  return e;
}
const v4 = (ip: string) => ({ subnetId: 's4', ipAddress: ip });
const projects = new Map([[NET, 'owner']]);

function tableRow(id: string, overrides: Partial<PortRow> = {}): PortRow {
  return {
    id,
    network_id: NET,
    project_id: 'project-a',
    network_project_id: 'owner',
    name: 'old',
    description: '',
    admin_state_up: true,
    mac_address: 'fa:16:3e:00:00:01',
    device_owner: '',
    device_id: '',
    binding_host_id: '',
    binding_profile: {},
    binding_vnic_type: 'normal',
    port_security_enabled: true,
    security_groups: [],
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    status: 'DOWN',
    revision_number: 3,
    created_at: '2026-10-01T00:00:00.000',
    updated_at: '2026-10-01T00:00:00.000',
    ...overrides,
  };
}

describe('port runs folded set-wise', () => {
  it('a port created, updated, re-addressed and reported in one run is one insert with its last addresses', () => {
    const run = [
      recorded(portCreated('p1', 'fa:16:3e:11:11:11', [v4('10.0.0.2')])),
      recorded({ type: 'PortUpdated', data: { portId: 'p1', changes: { name: 'web', bindingHostId: 'h1' } } }, '2026-11-01T00:00:01.000Z'),
      recorded({ type: 'PortUpdated', data: { portId: 'p1', changes: { fixedIps: [v4('10.0.0.7'), v4('10.0.0.8')] } } }, '2026-11-01T00:00:02.000Z'),
      recorded({ type: 'PortStatusChanged', data: { portId: 'p1', status: 'ACTIVE', reason: '' } }, '2026-11-01T00:00:03.000Z'),
    ];
    expect(portRunReads(run)).toEqual({ portIds: [], networkIds: [NET] });
    const w = foldPortRun(run, new Map(), projects);
    expect(w.clearFixedIpsOf).toEqual([]);
    expect(w.deletePorts).toEqual([]);
    expect(w.updateRows).toEqual([]);
    expect(w.insertRows).toHaveLength(1);
    expect(w.insertRows[0]).toMatchObject({
      id: 'p1',
      network_project_id: 'owner',
      name: 'web',
      binding_host_id: 'h1',
      status: 'ACTIVE',
      revision_number: 4,
      created_at: '2026-11-01T00:00:00.000Z',
      updated_at: '2026-11-01T00:00:03.000Z',
    });
    expect(w.insertFixedIps).toEqual([
      { port_id: 'p1', subnet_id: 's4', ip_address: '10.0.0.7', position: 0 },
      { port_id: 'p1', subnet_id: 's4', ip_address: '10.0.0.8', position: 1 },
    ]);
  });

  it('a created row has every column of the table', () => {
    const w = foldPortRun([recorded(portCreated('p1', 'fa:16:3e:11:11:11', []))], new Map(), projects);
    expect(Object.keys(w.insertRows[0] ?? {}).sort()).toEqual(['id', ...PORT_COLUMNS].sort());
  });

  it('a port of the table: only what changed changes; new addresses replace its old ones', () => {
    const run = [recorded({ type: 'PortUpdated', data: { portId: 'p1', changes: { deviceId: 'vm-1', fixedIps: [v4('10.0.0.9')] } } })];
    expect(portRunReads(run)).toEqual({ portIds: ['p1'], networkIds: [] });
    const w = foldPortRun(run, new Map([['p1', tableRow('p1')]]), projects);
    expect(w.updateRows).toEqual([{ ...tableRow('p1'), device_id: 'vm-1', revision_number: 4, updated_at: '2026-11-01T00:00:00.000Z' }]);
    expect(w.clearFixedIpsOf).toEqual(['p1']);
    expect(w.insertFixedIps).toEqual([{ port_id: 'p1', subnet_id: 's4', ip_address: '10.0.0.9', position: 0 }]);
    // no new addresses: the old ones stay
    const renamed = foldPortRun(
      [recorded({ type: 'PortUpdated', data: { portId: 'p1', changes: { name: 'x' } } })],
      new Map([['p1', tableRow('p1')]]),
      projects,
    );
    expect([renamed.clearFixedIpsOf, renamed.insertFixedIps]).toEqual([[], []]);
  });

  it('deleted: a port of the table goes with its addresses; one the run created leaves nothing', () => {
    const w = foldPortRun(
      [
        recorded({ type: 'PortDeleted', data: { portId: 'p1', fixedIps: [] } }),
        recorded(portCreated('p2', 'fa:16:3e:22:22:22', [v4('10.0.0.3')])),
        recorded({ type: 'PortDeleted', data: { portId: 'p2', fixedIps: [v4('10.0.0.3')] } }),
      ],
      new Map([['p1', tableRow('p1')]]),
      projects,
    );
    expect(w).toEqual({ clearFixedIpsOf: ['p1'], deletePorts: ['p1'], updateRows: [], insertRows: [], insertFixedIps: [] });
  });

  it('refuses an event on a missing port, a port created twice, and a port on an unknown network', () => {
    expect(() => foldPortRun([recorded({ type: 'PortStatusChanged', data: { portId: 'p9', status: 'ACTIVE', reason: '' } })], new Map(), projects)).toThrow(
      /PortStatusChanged: port p9 not in the projection/,
    );
    const created = recorded(portCreated('p1', 'fa:16:3e:11:11:11', []));
    expect(() => foldPortRun([created, created], new Map(), projects)).toThrow(/PortCreated: port p1 already exists/);
    expect(() => foldPortRun([created], new Map(), new Map())).toThrow(/network net-1 not in the projection/);
  });
});
