import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBirdProtocols, parseBirdRoutes } from './status.js';

/** Real `birdc show protocols all` output of BIRD 2.0.12, captured by bgp.int.spec.ts (UPDATE_BIRD_FIXTURES=1). */
const captured = (name: string): string => readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

describe('parseBirdProtocols', () => {
  it('reads established sessions of the speaker: state, since, exported routes', () => {
    const protocols = parseBirdProtocols(captured('show-protocols-established.txt'));
    expect(protocols.map((p) => `${p.name} ${p.proto} ${p.state}`)).toEqual([
      'device1 Device up',
      'ncp_static4 Static up',
      'ncp_static6 Static up',
      expect.stringMatching(/^peer_[0-9a-f]{32} BGP up$/),
      expect.stringMatching(/^peer_[0-9a-f]{32} BGP up$/),
    ]);
    const bgp = protocols.filter((p) => p.proto === 'BGP');
    for (const p of bgp) {
      expect(p.bgpState).toBe('Established');
      expect(p.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      expect(p.lastError).toBeNull();
    }
    expect(bgp.map((p) => [p.neighborAddress, p.exported, p.imported])).toEqual([
      ['10.81.0.1', 2, 0],
      ['2001:db8:bad:face::1', 1, 0],
    ]);
    expect(protocols.find((p) => p.name === 'ncp_static4')).toMatchObject({ bgpState: null, imported: 2, exported: 0 });
  });

  it('reads a session that does not come up (wrong MD5 password): no channel, so no route counts', () => {
    const [peer] = parseBirdProtocols(captured('show-protocols-md5-mismatch.txt')).filter((p) => p.proto === 'BGP' && p.neighborAddress === '10.81.0.1');
    expect(peer?.state).toBe('start');
    expect(['Connect', 'Active']).toContain(peer?.bgpState);
    expect(peer?.exported).toBeNull();
  });

  it("reads the last error from the summary and the details, and BIRD's default time format", () => {
    const output = [
      'BIRD 2.0.12 ready.',
      'Name       Proto      Table      State  Since         Info',
      'spk4       BGP        ---        start  08:46:08.329  Connect       Received: Other configuration change',
      '  BGP state:          Connect',
      '    Neighbor address: 10.81.0.2',
      '    Last error:       Received: Other configuration change',
      'down1      BGP        ---        down   08:46:08.329  ',
      '',
    ].join('\n');
    expect(parseBirdProtocols(output)).toEqual([
      {
        name: 'spk4',
        proto: 'BGP',
        state: 'start',
        since: '08:46:08.329',
        bgpState: 'Connect',
        neighborAddress: '10.81.0.2',
        imported: null,
        exported: null,
        lastError: 'Received: Other configuration change',
      },
      {
        name: 'down1',
        proto: 'BGP',
        state: 'down',
        since: '08:46:08.329',
        bgpState: null,
        neighborAddress: null,
        imported: null,
        exported: null,
        lastError: null,
      },
    ]);
    expect(parseBirdProtocols('BIRD 2.0.12 ready.\n')).toEqual([]);
  });
});

describe('parseBirdRoutes', () => {
  it("reads what a speaker learned from FRR: unresolved (unreachable) routes, the peer's next hop, AS path, MED and local preference", () => {
    // captured from BIRD 2.0.12 peering with FRR 8.4 (bgpd), which set a third-party next hop
    const routes = parseBirdRoutes(captured('show-route-learned.txt'));
    expect(routes).toEqual([
      {
        destination: '0.0.0.0/0',
        protocol: 'peer_bee00001000040008000000000000001',
        from: '10.255.0.1',
        since: new Date(1796322578 * 1000).toISOString(),
        best: true,
        nextHop: '192.168.81.1',
        asPath: [14907],
        med: 0,
        localPref: 100,
      },
      expect.objectContaining({ destination: '10.99.0.0/16', nextHop: '192.168.81.1', best: true }),
    ]);
  });

  it('reads IPv6 next hops without their link-local address, second routes of a network, AS sets and missing attributes', () => {
    const routes = parseBirdRoutes(captured('show-route-learned6.txt'));
    expect(routes.map((r) => [r.destination, r.protocol.slice(-1), r.from, r.best, r.nextHop, r.asPath, r.med, r.localPref])).toEqual([
      ['::/0', '2', '2001:db8:bad:face::1', true, '2001:db8:bad:face::1', [14907], null, 100],
      ['::/0', '3', '2001:db8:bad:face::9', false, '2001:db8:bad:face::9', [14908, 65010, 65020, 65021], 20, 100],
      ['2001:db8:100::/40', '2', '2001:db8:bad:face::1', true, '2001:db8:bad:face::1', [], null, 100],
    ]);
  });

  it('reads an empty table as no routes', () => {
    expect(parseBirdRoutes('BIRD 2.0.12 ready.\n')).toEqual([]);
    expect(parseBirdRoutes('BIRD 2.0.12 ready.\nTable master4:\n\nTable master6:\n')).toEqual([]);
  });
});
