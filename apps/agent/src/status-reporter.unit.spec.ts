import { describe, expect, it } from 'vitest';
import { type ResourceReport } from '@ncp/contracts';
import { DesiredState } from './desired-state';
import { StatusReporter } from './status-reporter';

const report = (id: string, status: ResourceReport['status'], reason = ''): ResourceReport => ({ kind: 'port', id, networkId: 'n', status, reason });

describe('status reporter', () => {
  it('reports everything once, then only changes', () => {
    const r = new StatusReporter();
    const first = r.changes([report('a', 'ACTIVE'), report('b', 'ERROR', 'x')]);
    expect(first.flat().map((x) => x.id)).toEqual(['a', 'b']);
    first.forEach((b) => r.confirm(b));
    expect(r.changes([report('a', 'ACTIVE'), report('b', 'ERROR', 'x')])).toEqual([]);
    expect(
      r
        .changes([report('a', 'ACTIVE'), report('b', 'ERROR', 'y')])
        .flat()
        .map((x) => x.reason),
    ).toEqual(['y']);
  });

  it('reports again what was not confirmed, and everything after a reset', () => {
    const r = new StatusReporter();
    r.changes([report('a', 'ACTIVE')]); // the append failed: not confirmed
    expect(r.changes([report('a', 'ACTIVE')]).flat()).toHaveLength(1);
    r.confirm([report('a', 'ACTIVE')]);
    r.reset();
    expect(r.changes([report('a', 'ACTIVE')]).flat()).toHaveLength(1);
  });

  it('forgets a resource no longer reported, which is reported again when it comes back; a router and a port of one id are two resources', () => {
    const r = new StatusReporter();
    const router = { ...report('a', 'ACTIVE'), kind: 'router' } as ResourceReport;
    r.confirm([report('a', 'ACTIVE'), report('b', 'ACTIVE'), router]);
    expect(r.changes([report('a', 'ACTIVE'), router])).toEqual([]);
    expect(r.changes([{ ...router, status: 'ERROR' }]).flat()).toEqual([{ ...router, status: 'ERROR' }]);
    r.retain([report('a', 'ACTIVE')]);
    expect(r.changes([report('a', 'ACTIVE'), report('b', 'ACTIVE'), router]).flat()).toEqual([report('b', 'ACTIVE'), router]);
  });

  it('cuts large reports into bounded batches', () => {
    const r = new StatusReporter();
    const many = Array.from({ length: 1201 }, (_, i) => report(`p${i}`, 'ACTIVE'));
    expect(r.changes(many).map((b) => b.length)).toEqual([500, 500, 201]);
    // and by size: sessions with many learned routes
    const route = { destination: '10.0.0.0/24', nextHop: '192.0.2.1', asPath: [14907, 65000], med: null, localPref: 100, best: true };
    const session = (i: number): ResourceReport => ({
      kind: 'bgp_session',
      id: `s/${i}`,
      networkId: null,
      status: 'ACTIVE',
      reason: 'Established',
      session: {
        speakerId: 's',
        peerId: `${i}`,
        state: 'Established',
        since: null,
        prefixesSent: 1,
        lastError: null,
        learned: Array(256).fill(route),
        learnedTotal: 256,
      },
    });
    const batches = r.changes(Array.from({ length: 100 }, (_, i) => session(i)));
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThan(600 * 1024);
    expect(batches.flat()).toHaveLength(100);
  });

  it('reports a BGP session again when its learned routes change, even with the same reason', () => {
    const r = new StatusReporter();
    const learned = (nextHop: string): ResourceReport => ({
      kind: 'bgp_session',
      id: 's/p',
      networkId: null,
      status: 'ACTIVE',
      reason: 'Established, 1 routes learned',
      session: {
        speakerId: 's',
        peerId: 'p',
        state: 'Established',
        since: null,
        prefixesSent: 1,
        lastError: null,
        learned: [{ destination: '0.0.0.0/0', nextHop, asPath: [], med: null, localPref: 100, best: true }],
        learnedTotal: 1,
      },
    });
    r.changes([learned('192.0.2.1')]).forEach((b) => r.confirm(b));
    expect(r.changes([learned('192.0.2.1')])).toEqual([]);
    expect(r.changes([learned('192.0.2.2')]).flat()).toHaveLength(1);
  });
});

describe('desired state from the KV bucket', () => {
  const net = {
    id: '11111111-0000-4000-8000-000000000001',
    mtu: 1450,
    segment: { networkType: 'vxlan', segmentationId: 7, physicalNetwork: null },
    floodList: [],
    remoteMacs: [],
  };
  const port = {
    id: '22222222-0000-4000-8000-000000000001',
    networkId: net.id,
    mac: 'fa:16:3e:00:00:01',
    adminStateUp: true,
    workload: { netns: 'wl-1', ifname: 'eth0' },
  };

  it('turns entries into the intent, sorted, and sets aside entries that do not parse', () => {
    const d = new DesiredState();
    d.put(`r.h.l2port.${port.id}`, JSON.stringify(port));
    d.put(`r.h.l2net.${net.id}`, JSON.stringify(net));
    d.put('r.h.l2port.bad', JSON.stringify({ ...port, mac: 'not-a-mac' }));
    d.put('r.h.unknown.x', '{}');
    const { intent, invalid } = d.l2Intent();
    expect(intent.networks.map((n) => n.id)).toEqual([net.id]);
    expect(intent.ports.map((p) => p.id)).toEqual([port.id]);
    expect(invalid.map((i) => i.key)).toEqual(['r.h.l2port.bad']);
    d.delete(`r.h.l2port.${port.id}`);
    expect(d.l2Intent().intent.ports).toEqual([]);
  });
});
