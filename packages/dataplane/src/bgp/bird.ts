import { BgpSpeakerIntentSchema, type BgpPeerIntent, type BgpSpeakerIntent } from '@ncp/contracts';
import { formatCidr, normalizeIp, parseCidr, parseIp, type IpVersion } from '@ncp/netaddr';
import { DataplaneError } from '../errors.js';
import { assertNetnsName } from '../names.js';
import { BGP_BFD_PROTOCOL, BGP_EXPORT_FILTER, BGP_NEXT_HOP_TABLE, BGP_STATIC_PROTOCOL, bgpPeerProtocol } from './model.js';
import { bgpSpeakerFiles, type BgpSpeakerFiles } from './paths.js';

function invalid(message: string): DataplaneError {
  return new DataplaneError('DATAPLANE.INVALID_CONFIG', message);
}

/** @throws DataplaneError `DATAPLANE.INVALID_CONFIG` with the first problem the schema finds */
export function checkBgpSpeaker(intent: BgpSpeakerIntent): BgpSpeakerIntent {
  const checked = BgpSpeakerIntentSchema.safeParse(intent);
  if (!checked.success) {
    const [issue] = checked.error.issues;
    throw invalid(`BGP speaker ${String(intent.speakerId)}: ${issue === undefined ? 'invalid' : `${issue.path.join('.')}: ${issue.message}`}`);
  }
  return checked.data;
}

interface Route {
  readonly destination: string;
  readonly nextHop: string;
}

/** The routes of one family, canonical, sorted, each destination once. */
function routesOf(intent: BgpSpeakerIntent, version: IpVersion): Route[] {
  const byDestination = new Map<string, Route>();
  for (const route of intent.routes) {
    const cidr = parseCidr(route.destination, { strict: true });
    if (cidr.version !== version) continue;
    const hop = parseIp(route.nextHop);
    if (hop.version !== version) throw invalid(`route ${route.destination}: next hop ${route.nextHop} is not IPv${version}`);
    const destination = formatCidr(cidr);
    const nextHop = normalizeIp(route.nextHop);
    const seen = byDestination.get(destination);
    if (seen !== undefined && seen.nextHop !== nextHop) throw invalid(`route ${destination} is listed with two next hops (${seen.nextHop}, ${nextHop})`);
    byDestination.set(destination, { destination, nextHop });
  }
  return [...byDestination.values()].sort((a, b) => compareCidr(a.destination, b.destination));
}

function compareCidr(a: string, b: string): number {
  const [x, y] = [parseCidr(a), parseCidr(b)];
  if (x.network !== y.network) return x.network < y.network ? -1 : 1;
  return x.prefixLength - y.prefixLength;
}

/**
 * The advertised routes are `unreachable` static routes: BIRD exports a static `via` route only
 * when its next hop is on a directly connected network of BIRD's namespace (else the route is
 * unresolved and never reaches the table), and the next hop we advertise (a router's gateway
 * address) need not be. An unreachable route is always valid, is not installed anywhere (no
 * kernel protocol), and the export filter sets `bgp_next_hop` explicitly: BIRD keeps a next
 * hop set by the export filter instead of putting its own address there (`next hop self` is
 * the eBGP default otherwise). Routes are grouped by next hop: `net ~ [ p1, p2 ]` with bare
 * prefixes matches exactly those prefixes.
 */
function staticAndFilter(intent: BgpSpeakerIntent, version: IpVersion): string[] {
  const routes = routesOf(intent, version);
  const proto = BGP_STATIC_PROTOCOL[version];
  const lines = [`protocol static ${proto}`, '{', `\tipv${version};`];
  for (const route of routes) lines.push(`\troute ${route.destination} unreachable;`);
  lines.push('}', '', `filter ${BGP_EXPORT_FILTER[version]}`, '{', `\tif proto != "${proto}" then reject;`);
  const byHop = new Map<string, string[]>();
  for (const route of routes) byHop.set(route.nextHop, [...(byHop.get(route.nextHop) ?? []), route.destination]);
  for (const [hop, destinations] of byHop) {
    lines.push(`\tif net ~ [ ${destinations.join(', ')} ] then { bgp_next_hop = ${hop}; accept; }`);
  }
  lines.push('\treject;', '}');
  return lines;
}

/**
 * What a peer's channel imports: `import none` when its policy accepts nothing (the default);
 * else a filter that takes the default route only when accepted, routes inside the accepted
 * prefixes (`p+`: the prefix and its more-specifics, never the default route itself), and
 * nothing else; `import limit` restarts the session when the peer sends more than allowed.
 */
function importLines(peer: BgpPeerIntent, version: IpVersion): string[] {
  const { acceptDefaultRoute, acceptedPrefixes, maxPrefixes } = peer.importPolicy;
  const cidrs = acceptedPrefixes.map((p) => parseCidr(p, { strict: true }));
  const other = cidrs.find((c) => c.version !== version);
  if (other !== undefined) throw invalid(`peer ${peer.id}: accepted prefix ${formatCidr(other)} is not IPv${version}`);
  const unique = [...new Set(cidrs.map(formatCidr))].sort(compareCidr).map((p) => `${p}+`);
  // The next hop is the one the peer sent (maybe another router than the peer): it is resolved
  // in an empty table, so a route is kept (unreachable) and reported, never used here. Set on
  // every peer, learning or not: BIRD restarts a session whose next hop settings change, and
  // a policy change should not flap the session (withdrawing what it advertises).
  const nextHops = ['\t\tgateway recursive;', `\t\tigp table ${BGP_NEXT_HOP_TABLE[version]};`];
  if (!acceptDefaultRoute && unique.length === 0) return ['\t\timport none;', ...nextHops];
  return [
    '\t\timport filter {',
    `\t\t\tif net.len = 0 then ${acceptDefaultRoute ? 'accept' : 'reject'};`,
    ...(unique.length === 0 ? [] : [`\t\t\tif net ~ [ ${unique.join(', ')} ] then accept;`]),
    '\t\t\treject;',
    '\t\t};',
    ...(maxPrefixes === null ? [] : [`\t\timport limit ${maxPrefixes} action restart;`]),
    ...nextHops,
  ];
}

/**
 * bird.conf of one speaker: router id, log file, `protocol device` (BIRD wants it to know the
 * interfaces its sessions use), one static protocol and export filter per family, and one
 * `protocol bgp peer_<id hex>` per peer with the channel of the peer's address family: its
 * import policy (`import none` by default: nothing is learned) and the export filter of that
 * family. A peer with `bfd` gets `bfd on`, and the speaker a `protocol bfd` for the families
 * of those peers only (two speakers of different families on one host each bind their own
 * family's BFD port). Timestamps are printed as UNIX seconds (`timeformat protocol "%s"`,
 * `timeformat route "%s"`), which the parsers read. No kernel protocol: the speaker advertises
 * and reports what it learns; it installs nothing in its host's tables. Pure.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG`
 */
export function renderBirdConf(speaker: BgpSpeakerIntent, files: Pick<BgpSpeakerFiles, 'logFile'> | { readonly logFile: null }): string {
  const intent = checkBgpSpeaker(speaker);
  const peers = [...intent.peers].sort((a, b) => bgpPeerProtocol(a.id).localeCompare(bgpPeerProtocol(b.id)));
  const familyOf = (peer: BgpPeerIntent) => parseIp(peer.address).version;
  const families = new Set(peers.map(familyOf));
  const bfdFamilies = [...new Set(peers.filter((p) => p.bfd).map(familyOf))].sort();
  const lines = [
    `# BGP speaker ${intent.speakerId.toLowerCase()} (generated by ncp-agent; changes are overwritten)`,
    `router id ${normalizeIp(intent.routerId)};`,
    files.logFile === null ? 'log stderr all;' : `log "${files.logFile}" all;`,
    'timeformat protocol "%s";',
    'timeformat route "%s";',
    '',
    'protocol device',
    '{',
    '}',
    ...([4, 6] as const).filter((v) => families.has(v)).flatMap((v) => ['', `ipv${v} table ${BGP_NEXT_HOP_TABLE[v]};`]),
    ...(bfdFamilies.length === 0
      ? []
      : ['', `protocol bfd ${BGP_BFD_PROTOCOL}`, '{', ...(bfdFamilies.length === 1 ? [`\taccept ipv${bfdFamilies[0]};`] : []), '}']),
    '',
    ...staticAndFilter(intent, 4),
    '',
    ...staticAndFilter(intent, 6),
  ];
  const names = new Set<string>();
  const addresses = new Set<string>();
  for (const peer of peers) {
    const name = bgpPeerProtocol(peer.id);
    const address = normalizeIp(peer.address);
    if (names.has(name)) throw invalid(`peer ${peer.id} is listed twice`);
    if (addresses.has(address)) throw invalid(`two peers have the address ${address}`);
    names.add(name);
    addresses.add(address);
    const version = familyOf(peer);
    lines.push(
      '',
      `protocol bgp ${name}`,
      '{',
      `\tlocal as ${intent.localAs};`,
      `\tneighbor ${address} as ${peer.remoteAs};`,
      ...(peer.password === null ? [] : [`\tpassword "${peer.password}";`]),
      ...(peer.bfd ? ['\tbfd on;'] : []),
      `\tipv${version} {`,
      ...importLines(peer, version),
      `\t\texport filter ${BGP_EXPORT_FILTER[version]};`,
      '\t};',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The command that starts BIRD with its files in `dir`: in the speaker's namespace, or in the
 * agent's host namespace (`hostNetns`; none: where the agent runs). BIRD forks into the
 * background once its configuration is read and its control socket is open, and writes its
 * pid file (`-P`); argv[0] stays `bird`, which the identity check relies on.
 */
export function birdArgv(intent: BgpSpeakerIntent, dir: string, hostNetns: string | null = null): string[] {
  const files = bgpSpeakerFiles(dir);
  const ns = intent.namespace ?? hostNetns;
  const bird = ['bird', '-c', files.confFile, '-s', files.ctlSocket, '-P', files.pidFile];
  return ns === null ? bird : ['ip', 'netns', 'exec', assertNetnsName(ns), ...bird];
}

/** `birdc -s <socket> <command...>`: the control socket is a file, reachable from any namespace. */
export function birdcArgv(ctlSocket: string, ...command: string[]): string[] {
  return ['birdc', '-s', ctlSocket, ...command];
}
