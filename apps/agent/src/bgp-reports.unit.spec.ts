import { type BgpSpeakerIntent } from '@ncp/contracts';
import { describe, expect, it } from 'vitest';
import { bgpReports } from './bgp-reports';

const speaker = (id: string): BgpSpeakerIntent => ({ speakerId: id, localAs: 64711, routerId: '10.1.0.2', namespace: null, peers: [], routes: [] });
const S1 = 'b6900000-0000-4000-8000-000000000001';
const S2 = 'b6900000-0000-4000-8000-000000000002';
const P = 'bee00004-0000-4000-8000-000000000004';

describe('BGP status reports', () => {
  it('reports each speaker and each session with what BIRD says of it', () => {
    const reports = bgpReports(
      [speaker(S1), speaker(S2)],
      [
        {
          item: `bgp:${S1}`,
          ok: true,
          sessions: [
            {
              peerId: P,
              state: 'Established',
              since: '2026-11-22T10:00:00.000Z',
              exported: 3,
              lastError: null,
              learned: [{ destination: '0.0.0.0/0', nextHop: '192.168.81.1', asPath: [14907], med: 0, localPref: 100, best: true }],
              learnedTotal: 1,
            },
          ],
        },
        { item: `bgp:${S2}`, ok: false, error: 'namespace x does not exist' },
        { item: 'sweep', ok: true },
      ],
    );
    expect(reports).toEqual([
      { kind: 'bgp_speaker', id: S1, networkId: null, status: 'ACTIVE', reason: 'BIRD runs the configuration' },
      {
        kind: 'bgp_session',
        id: `${S1}/${P}`,
        networkId: null,
        status: 'ACTIVE',
        reason: 'Established since 2026-11-22T10:00:00.000Z, 3 prefixes sent, 1 routes learned',
        session: {
          speakerId: S1,
          peerId: P,
          state: 'Established',
          since: '2026-11-22T10:00:00.000Z',
          prefixesSent: 3,
          lastError: null,
          learned: [{ destination: '0.0.0.0/0', nextHop: '192.168.81.1', asPath: [14907], med: 0, localPref: 100, best: true }],
          learnedTotal: 1,
        },
      },
      { kind: 'bgp_speaker', id: S2, networkId: null, status: 'ERROR', reason: 'namespace x does not exist' },
    ]);
  });

  it('reports a session that is not up as DOWN with its last error, so a change of state is a new report', () => {
    const [, session] = bgpReports(
      [speaker(S1)],
      [
        {
          item: `bgp:${S1}`,
          ok: true,
          sessions: [{ peerId: P, state: 'Active', since: null, exported: null, lastError: 'Socket: Connection refused', learned: null, learnedTotal: null }],
        },
      ],
    );
    expect(session).toMatchObject({ status: 'DOWN', reason: 'Active (Socket: Connection refused)', session: { prefixesSent: null } });
    // learned routes that could not be read are not reported: unknown, not none
    expect(session?.session && 'learned' in session.session).toBe(false);
  });
});
