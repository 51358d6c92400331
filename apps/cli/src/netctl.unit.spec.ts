import { describe, expect, it } from 'vitest';
import { resolveAggregate } from './aggregates';
import { diffRows } from './diff';
import { agentRows } from './agents';
import { duration, progressLine, rebuildPosition, table } from './render';
import { traceCorrelation, type StreamEvent } from './trace';

const ev = (sequence: number, over: Partial<StreamEvent['envelope']>): StreamEvent => ({
  sequence,
  subject: `ev.x.y.${sequence}`,
  envelope: {
    id: `e${sequence}`,
    type: 'Something',
    aggregate: 'network',
    aggregateId: 'aaaaaaaa-0000-4000-8000-000000000001',
    occurredAt: new Date(Date.UTC(2026, 10, 22, 10, 0, 0, sequence * 100)).toISOString(),
    correlationId: 'other',
    causationId: null,
    actor: 'someone',
    data: {},
    ...over,
  },
});

describe('trace', () => {
  const PORT = 'bbbbbbbb-0000-4000-8000-000000000002';
  const events = [
    ev(1, { correlationId: 'req-1', type: 'PortCreated', data: { portId: PORT } }),
    ev(2, { correlationId: 'req-2', type: 'NetworkCreated', aggregateId: 'cccccccc-0000-4000-8000-000000000003' }),
    // caused by event 1 under another correlation (a reaction): part of the trace
    ev(3, {
      correlationId: 'l3-xyz',
      causationId: 'e1',
      type: 'RouterInterfaceAdded',
      aggregate: 'router',
      aggregateId: 'dddddddd-0000-4000-8000-000000000004',
    }),
    ev(4, {
      type: 'ResourceStatusReported',
      aggregate: 'agent',
      data: {
        host: 'cmp-b1',
        resources: [
          { kind: 'port', id: PORT, status: 'ACTIVE', reason: 'plugged' },
          { kind: 'port', id: 'unrelated', status: 'ACTIVE', reason: '' },
        ],
      },
    }),
    ev(5, {
      type: 'ResourceStatusReported',
      aggregate: 'agent',
      data: { host: 'net-a1', resources: [{ kind: 'router', id: 'dddddddd-0000-4000-8000-000000000004', status: 'ERROR', reason: 'boom' }] },
    }),
  ];

  it("follows correlation and causation across services, then the agents' reports on what they touched", () => {
    const t = traceCorrelation(events, 'req-1');
    expect(t.events.map((e) => e.sequence)).toEqual([1, 3]);
    expect(t.reports.map((r) => [r.host, r.kind, r.id, r.status, r.afterMs])).toEqual([
      ['cmp-b1', 'port', PORT, 'ACTIVE', 300],
      ['net-a1', 'router', 'dddddddd-0000-4000-8000-000000000004', 'ERROR', 400],
    ]);
    expect(traceCorrelation(events, 'nope')).toEqual({ events: [], reports: [] });
  });

  it('ignores reports from before the request', () => {
    const early = [
      ev(0, { type: 'ResourceStatusReported', aggregate: 'agent', data: { host: 'h', resources: [{ kind: 'port', id: PORT, status: 'DOWN', reason: '' }] } }),
      ...events,
    ];
    expect(traceCorrelation(early, 'req-1').reports.map((r) => r.sequence)).toEqual([4, 5]);
  });
});

describe('agents', () => {
  const now = Date.parse('2026-11-22T10:00:30Z');
  it('shows each agent once, alive by its heartbeat, with its last reconcile and current errors', () => {
    const rows = agentRows(
      [
        { agentId: 'a', row: 'row-b', host: 'cmp-b1', roles: ['compute'], version: '0.1.0', startedAt: 't0' },
        { agentId: 'n', row: 'row-a', host: 'net-a1', roles: ['network'], version: '0.1.0', startedAt: 't0' },
        { agentId: 'n', row: 'row-a', host: 'net-a1', roles: ['network', 'bgp'], version: '0.1.0', startedAt: 't1' },
      ],
      new Map([
        ['row-a.net-a1', { agentId: 'n', at: '2026-11-22T10:00:28Z', lastReconcile: { at: '2026-11-22T10:00:20Z', ms: 120, failed: ['router:r1'] } }],
        ['row-b.cmp-b1', { agentId: 'a', at: '2026-11-22T09:58:00Z' }],
      ]),
      [
        { host: 'net-a1', kind: 'router', id: 'r1', status: 'ERROR', reason: 'boom' },
        { host: 'net-a1', kind: 'port', id: 'p1', status: 'ERROR', reason: 'x' },
        { host: 'net-a1', kind: 'port', id: 'p1', status: 'ACTIVE', reason: 'plugged' },
      ],
      now,
      30,
    );
    expect(rows.map((r) => [r.row, r.host, r.roles.join(','), r.alive, r.heartbeatAgeSeconds, r.errors.map((e) => e.id), r.startedAt])).toEqual([
      ['row-a', 'net-a1', 'network,bgp', true, 2, ['r1'], 't1'],
      ['row-b', 'cmp-b1', 'compute', false, 150, [], 't0'],
    ]);
    expect(rows[0]?.lastReconcile).toEqual({ at: '2026-11-22T10:00:20Z', ms: 120, failed: ['router:r1'] });
  });
});

describe('rendering', () => {
  it('pads table columns and shows empty cells as -', () => {
    expect(
      table(
        ['seq', 'type'],
        [
          [1, 'NetworkCreated'],
          [12, null],
        ],
      ),
    ).toBe('SEQ  TYPE\n1    NetworkCreated\n12   -');
  });

  it('draws progress with rate and ETA', () => {
    expect(progressLine(500, 1000, 1000, 10)).toBe('[#####.....]  50%  500/1,000 events  500 ev/s  ETA 1s');
    expect(progressLine(1000, 1000, 2000, 10)).toBe('[##########] 100%  1,000/1,000 events  500 ev/s  done');
    expect([duration(950), duration(12_000), duration(185_000), duration(7_260_000)]).toEqual(['950ms', '12s', '3m05s', '2h01m']);
  });
});

describe('aggregate names', () => {
  it('finds the owning service, and asks for the context when two have the name', () => {
    expect(resolveAggregate('network')).toEqual({ context: 'ipam', aggregate: 'network' });
    expect(resolveAggregate('speaker')).toEqual({ context: 'bgp', aggregate: 'speaker' });
    expect(resolveAggregate('l3.registry')).toEqual({ context: 'l3', aggregate: 'registry' });
    expect(() => resolveAggregate('registry')).toThrow(/ambiguous: say ipam.registry or l3.registry/);
    expect(() => resolveAggregate('widget')).toThrow(/unknown aggregate widget/);
  });
});

describe('row diff', () => {
  it('is a multiset difference: duplicates count', () => {
    expect(diffRows(['a', 'b', 'b', 'c'], ['b', 'c', 'c', 'd'])).toEqual({ onlyLive: ['a', 'b'], onlyReplayed: ['c', 'd'] });
    expect(diffRows(['x'], ['x'])).toEqual({ onlyLive: [], onlyReplayed: [] });
  });
});

describe('rebuild progress', () => {
  const at = (checkpoint: number, pending: number, running = true) => ({ checkpoint, pending, running });
  it('follows the least advanced projection that still has events to apply', () => {
    // IPAM: its own projection halfway, the agents projection done long ago at its last agent event
    expect(rebuildPosition([at(500_000, 500_000), at(12, 0)], 1_000_000)).toBe(500_000);
    expect(rebuildPosition([at(400, 600), at(700, 300)], 1_000)).toBe(400);
    expect(rebuildPosition([at(990, 0)], 1_000)).toBe(1_000);
    // a projection being emptied is at the start, whatever its old checkpoint said
    expect(rebuildPosition([at(1_000, 0, false), at(12, 0)], 1_000)).toBe(0);
    // the second projection starting over does not move the bar back
    expect(rebuildPosition([at(1_000, 0), at(0, 40)], 1_000, 1_000)).toBe(1_000);
    expect(rebuildPosition([], 1_000)).toBe(0);
  });
});
