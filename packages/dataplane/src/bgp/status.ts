import { MAX_LEARNED_ROUTES_REPORTED } from '@ncp/contracts';
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

/** A route learned from a peer, as the agent reports it. */
export interface BgpLearnedRoute {
  /** CIDR in its normal form */
  readonly destination: string;
  /** the next hop the peer sent (its own address or another router's) */
  readonly nextHop: string;
  readonly asPath: readonly number[];
  readonly med: number | null;
  readonly localPref: number | null;
  /** the best route of its destination among the speaker's peers */
  readonly best: boolean;
}

/** Bounds what one session's report holds: the services use the default route and a few prefixes, not a full table. */
export const MAX_LEARNED_REPORTED = MAX_LEARNED_ROUTES_REPORTED;

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
  /**
   * What the speaker learned from the peer (at most `MAX_LEARNED_REPORTED`, by destination;
   * none from a session that is not Established or a peer whose policy accepts nothing); null
   * when it could not be read (BIRD still starting): unknown, not empty
   */
  readonly learned: readonly BgpLearnedRoute[] | null;
  /** how many routes BIRD holds from the peer (more than `learned` holds when bounded); null with `learned` */
  readonly learnedTotal: number | null;
}

/** One route of `birdc show route ... all`, with the BGP attributes BIRD prints for it. */
export interface BirdRoute {
  /** the network as BIRD prints it (`0.0.0.0/0`, `2001:db8::/32`) */
  readonly destination: string;
  /** the protocol that brought the route (`peer_<hex>`, `ncp_static4`) */
  readonly protocol: string;
  /** the address of the BGP neighbour it came from, if printed */
  readonly from: string | null;
  /** when the route was last changed: ISO 8601 when BIRD printed UNIX seconds (`timeformat route "%s"`) */
  readonly since: string | null;
  /** the best route of its network in the table (BIRD's `*`) */
  readonly best: boolean;
  /** `BGP.next_hop`: the first address (an IPv6 next hop may be followed by its link-local address) */
  readonly nextHop: string | null;
  /** `BGP.as_path`, AS numbers in order (those of AS sets included) */
  readonly asPath: readonly number[];
  readonly med: number | null;
  readonly localPref: number | null;
}

/**
 * The first line of a route: `<net> <how> [<proto> <since>( from <addr>)?]( *)? (<pref>(/<metric>)?)( [<origin>])?`,
 * `<how>` being `unreachable`, `via <addr> on <dev>`, `blackhole`... A route of a network
 * already printed starts with spaces instead of the network.
 */
const ROUTE = /^(\S+)?\s+.*?\[(\S+) (\S+)(?: from (\S+))?\](\s+\*)?\s+\(\d+(?:\/[^)]*)?\)(?:\s+\[.*\])?\s*$/;

const uint = (text: string): number | null => (/^\d{1,10}$/.test(text) && Number(text) <= 4294967295 ? Number(text) : null);

/**
 * Parses `birdc show route [protocol <p>] all`: the route lines, their `BGP.*` attributes
 * (tab-indented below each route). Headers (`BIRD 2.0.12 ready.`, `Table master4:`) and lines
 * it does not know are skipped.
 */
export function parseBirdRoutes(output: string): BirdRoute[] {
  const routes: { -readonly [K in keyof BirdRoute]: BirdRoute[K] }[] = [];
  let current: (typeof routes)[number] | undefined;
  let network: string | undefined;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    if (line.startsWith('\t')) {
      if (current === undefined) continue;
      const attribute = /^\t(BGP\.[a-z_]+):\s*(.*?)\s*$/.exec(line);
      if (attribute === null) continue;
      const [, key = '', value = ''] = attribute;
      if (key === 'BGP.next_hop') current.nextHop = value.split(/\s+/)[0] || null;
      else if (key === 'BGP.as_path') current.asPath = value.split(/[\s{}]+/).flatMap((t) => (t === '' || uint(t) === null ? [] : [uint(t) ?? 0]));
      else if (key === 'BGP.med') current.med = uint(value);
      else if (key === 'BGP.local_pref') current.localPref = uint(value);
      continue;
    }
    const m = ROUTE.exec(line);
    if (m === null) {
      current = undefined;
      if (!/^\s/.test(line)) network = undefined; // `Table master4:`, `BIRD 2.0.12 ready.`
      continue;
    }
    const [, net, protocol = '', sinceText = '', from, star] = m;
    if (net !== undefined) network = net;
    if (network === undefined) {
      current = undefined;
      continue;
    }
    current = {
      destination: network,
      protocol,
      from: from ?? null,
      since: since(sinceText),
      best: star !== undefined,
      nextHop: null,
      asPath: [],
      med: null,
      localPref: null,
    };
    routes.push(current);
  }
  return routes;
}
