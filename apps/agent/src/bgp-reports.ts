import { type BgpSpeakerIntent, type ResourceReport } from '@ncp/contracts';
import { type BgpItemResult } from '@ncp/dataplane';

/**
 * Each speaker's status, and each of its sessions as BIRD shows it (`bgp_session`, id
 * `<speaker>/<peer>`), with the routes it learned when they could be read. The reason names the
 * state, its start, the prefixes sent and the routes learned; the reporter also compares the
 * session itself, so a session that flaps, advertises more or learns other routes is reported
 * again.
 */
export function bgpReports(intents: readonly BgpSpeakerIntent[], results: readonly BgpItemResult[]): ResourceReport[] {
  const reports: ResourceReport[] = [];
  for (const speaker of intents) {
    const result = results.find((r) => r.item === `bgp:${speaker.speakerId}`);
    if (result === undefined) continue;
    if (!result.ok) {
      reports.push({ kind: 'bgp_speaker', id: speaker.speakerId, networkId: null, status: 'ERROR', reason: result.error });
      continue;
    }
    reports.push({ kind: 'bgp_speaker', id: speaker.speakerId, networkId: null, status: 'ACTIVE', reason: 'BIRD runs the configuration' });
    for (const s of 'sessions' in result ? result.sessions : []) {
      const session = {
        speakerId: speaker.speakerId,
        peerId: s.peerId,
        state: s.state,
        since: s.since,
        prefixesSent: s.exported,
        lastError: s.lastError,
        ...(s.learned === null ? {} : { learned: s.learned.map((r) => ({ ...r, asPath: [...r.asPath] })), learnedTotal: s.learnedTotal ?? s.learned.length }),
      };
      const learned = s.learnedTotal ? `, ${s.learnedTotal} routes learned` : '';
      const reason = `${s.state}${s.since ? ` since ${s.since}` : ''}${s.exported !== null ? `, ${s.exported} prefixes sent` : ''}${learned}${s.lastError ? ` (${s.lastError})` : ''}`;
      reports.push({
        kind: 'bgp_session',
        id: `${speaker.speakerId}/${s.peerId}`,
        networkId: null,
        status: s.state === 'Established' ? 'ACTIVE' : 'DOWN',
        reason,
        session,
      });
    }
  }
  return reports;
}
