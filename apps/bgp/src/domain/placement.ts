import { type SpeakerHost } from './speaker.decider';

export interface BgpAgentCandidate {
  readonly host: string;
  readonly row: string;
  readonly roles: readonly string[];
  readonly alive: boolean;
  /** another speaker of an overlapping address family already runs here (see `familiesClash`) */
  readonly busy?: boolean;
}

/** The address families a speaker's BIRD listens on: one, or both for a dual-stack speaker. */
export const speakerFamilies = (ipVersion: 4 | 6 | null): readonly (4 | 6)[] => (ipVersion === null ? [4, 6] : [ipVersion]);

/**
 * Two speakers clash on one host when they share an address family: each runs its own BIRD,
 * and BIRD listens on TCP port 179 of every address of the family, so the second one cannot
 * bind and never opens a session. (Neutron's scheduler allows one speaker per agent.)
 */
export function familiesClash(a: 4 | 6 | null, b: 4 | 6 | null): boolean {
  return speakerFamilies(a).some((f) => speakerFamilies(b).includes(f));
}

/** How many agents run each speaker when placement is automatic: two, so one may die. */
export const SPEAKER_REPLICAS = 2;

/**
 * The agents a speaker should run on. Pinned hosts (the dragent API) are the operator's
 * choice: they stay as they are, alive or not, and no automatic host is added. Otherwise the
 * live `bgp`-role agents without a clashing speaker (`busy`) already running it stay (no needless session flaps), unless two share
 * a row while another row has a live bgp agent; the rest is filled with live bgp agents,
 * preferring rows the speaker is not in yet (a row may lose its power or its spine), then the
 * least loaded, then by host name. Sorted by host. Pure.
 */
export function chooseSpeakerHosts(
  current: readonly SpeakerHost[],
  candidates: readonly BgpAgentCandidate[],
  loadPerHost: ReadonlyMap<string, number>,
  replicas = SPEAKER_REPLICAS,
): SpeakerHost[] {
  if (current.some((h) => h.pinned)) return current.filter((h) => h.pinned).sort(byHost);
  const eligible = candidates.filter((a) => a.alive && a.roles.includes('bgp') && a.busy !== true);
  const chosen: SpeakerHost[] = current.filter((h) => eligible.some((a) => a.host === h.host && a.row === h.row)).slice(0, replicas);
  // Two hosts in one row while a live agent waits in another (it started later): one moves
  // there, since a row can fail as a whole. That one session moves once; then it is stable.
  const rowsKept = new Set(chosen.map((h) => h.row));
  if (rowsKept.size < chosen.length && eligible.some((a) => !rowsKept.has(a.row))) {
    const seen = new Set<string>();
    const duplicate = [...chosen].sort(byHost).find((h) => (seen.has(h.row) ? true : (seen.add(h.row), false)));
    if (duplicate !== undefined) chosen.splice(chosen.indexOf(duplicate), 1);
  }
  while (chosen.length < replicas) {
    const rows = new Set(chosen.map((h) => h.row));
    const next = eligible
      .filter((a) => !chosen.some((h) => h.host === a.host))
      .sort(
        (a, b) =>
          Number(rows.has(a.row)) - Number(rows.has(b.row)) || (loadPerHost.get(a.host) ?? 0) - (loadPerHost.get(b.host) ?? 0) || a.host.localeCompare(b.host),
      )[0];
    if (next === undefined) break;
    chosen.push({ host: next.host, row: next.row, pinned: false });
  }
  return chosen.sort(byHost);
}

const byHost = (a: SpeakerHost, b: SpeakerHost) => a.host.localeCompare(b.host);
