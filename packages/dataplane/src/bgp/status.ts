/**
 * What `birdc show protocols all` says about each protocol. The summary line of a protocol is
 * `<name> <proto> <table> <state> <since> <info>` (columns padded with spaces, the protocol's
 * details indented below it); for BGP the info is the BGP state, optionally followed by the
 * last error (`Active        Socket: Connection refused`), and the details carry
 * `BGP state:`, `Neighbor address:`, `Last error:` and per channel
 * `Routes:         0 imported, 2 exported, 0 preferred`.
 */
export interface BirdProtocolState {
  readonly name: string;
  /** `BGP`, `Static`, `Device`, `Kernel`... */
  readonly proto: string;
  /** BIRD's protocol state: `up`, `start`, `stop`, `down` */
  readonly state: string;
  /** when the state last changed: ISO 8601 when BIRD printed UNIX seconds (our `timeformat`), else BIRD's text */
  readonly since: string | null;
  /** BGP: `Established`, `Connect`, `Active`, `OpenSent`, `OpenConfirm`, `Idle`, `Down`; null for other protocols */
  readonly bgpState: string | null;
  readonly neighborAddress: string | null;
  /** summed over the protocol's channels; null when BIRD printed no `Routes:` line (the channel is down) */
  readonly imported: number | null;
  readonly exported: number | null;
  readonly lastError: string | null;
}

const SUMMARY = /^(\S+)\s+(\S+)\s+(\S+)\s+(up|start|stop|down|flush)\s+(\S+)(?:\s+(.*?))?\s*$/;

function since(text: string): string | null {
  if (/^\d{9,11}$/.test(text)) return new Date(Number(text) * 1000).toISOString();
  return text === '' ? null : text;
}

/**
 * Parses `birdc show protocols all` (or `show protocols`: then only the summary fields). Lines
 * before the header (`BIRD 2.0.12 ready.`) and the header itself are skipped.
 */
export function parseBirdProtocols(output: string): BirdProtocolState[] {
  const protocols: { -readonly [K in keyof BirdProtocolState]: BirdProtocolState[K] }[] = [];
  let current: (typeof protocols)[number] | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      current = undefined;
      if (/^Name\s+Proto\s+Table\s+State\s+Since/.test(line)) continue;
      const m = SUMMARY.exec(line);
      if (m === null) continue; // `BIRD 2.0.12 ready.`, or a line we do not know
      const [, name = '', proto = '', , state = '', sinceText = '', info = ''] = m;
      const isBgp = proto === 'BGP';
      // the BGP info column: the state, then (after padding) the last error
      const infoMatch = /^(\S+)(?:\s+(.*))?$/.exec(info);
      current = {
        name,
        proto,
        state,
        since: since(sinceText),
        bgpState: isBgp ? (infoMatch?.[1] ?? null) : null,
        neighborAddress: null,
        imported: null,
        exported: null,
        lastError: isBgp && infoMatch?.[2] !== undefined && infoMatch[2] !== '' ? infoMatch[2] : null,
      };
      protocols.push(current);
      continue;
    }
    if (current === undefined) continue;
    const detail = /^\s+([A-Za-z ]+?):\s+(.*?)\s*$/.exec(line);
    if (detail === null) continue;
    const [, key = '', value = ''] = detail;
    if (key === 'BGP state') current.bgpState = value;
    else if (key === 'Neighbor address') current.neighborAddress = value;
    else if (key === 'Last error') current.lastError = value;
    else if (key === 'Routes') {
      const imported = /(\d+) imported/.exec(value);
      const exported = /(\d+) exported/.exec(value);
      if (imported?.[1] !== undefined) current.imported = (current.imported ?? 0) + Number(imported[1]);
      if (exported?.[1] !== undefined) current.exported = (current.exported ?? 0) + Number(exported[1]);
    }
  }
  return protocols;
}

/** The session of one peer as the agent reports it. */
export interface BgpSessionState {
  readonly peerId: string;
  /** the BGP state (`Established`...), `Down` when the protocol is down, `Unknown` when BIRD does not list it */
  readonly state: string;
  /** when the state was entered (for `Established`: the session's start, its uptime) */
  readonly since: string | null;
  /** routes advertised to the peer; null when the session's channel is not up */
  readonly exported: number | null;
  readonly lastError: string | null;
}
