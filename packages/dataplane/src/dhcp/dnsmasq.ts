import { DhcpHostIntentSchema, DhcpServerIntentSchema, type DhcpHostIntent, type DhcpServerIntent, type DhcpSubnetIntent } from '@ncp/contracts';
import { cidrContainsIp, cidrSize, formatIp, isValidIp, normalizeIp, parseCidr, parseIp, type Cidr } from '@ncp/netaddr';
import { DataplaneError } from '../errors.js';
import { assertLinkName, assertNetnsName } from '../names.js';
import { dhcpServerFiles } from './paths.js';

/** A rendered file plus the ports left out of it (reported as warnings of the server's item). */
export interface RenderedDhcpFile {
  readonly text: string;
  readonly portErrors: readonly DhcpPortError[];
}

export interface DhcpPortError {
  readonly portId: string;
  readonly error: string;
}

/** Neutron's cap (`dnsmasq_lease_max`): an IPv6 /64 would otherwise make dnsmasq size tables for 2^64 leases. */
export const DNSMASQ_LEASE_MAX = 2 ** 24;

interface ParsedSubnet {
  readonly subnet: DhcpSubnetIntent;
  readonly cidr: Cidr;
}

function invalid(message: string): DataplaneError {
  return new DataplaneError('DATAPLANE.INVALID_CONFIG', message);
}

/** Tags name subnets and ports in dnsmasq's files: lower-case ids only, checked by the schema. */
function subnetTag(id: string): string {
  return `subnet-${id.toLowerCase()}`;
}

function portTag(id: string): string {
  return `port-${id.toLowerCase()}`;
}

/**
 * The subnets with their parsed CIDRs. A subnet whose CIDR or mode does not make sense is an
 * error of the whole server: its range would be missing from dnsmasq's command line.
 */
function parseSubnets(intent: DhcpServerIntent): ParsedSubnet[] {
  // the ports are checked one by one (a bad one is left out); everything else fails the server
  const checked = DhcpServerIntentSchema.safeParse({ ...intent, hosts: [] });
  if (!checked.success) {
    const [issue] = checked.error.issues;
    throw invalid(`DHCP server ${String(intent.networkId)}: ${issue === undefined ? 'invalid' : `${issue.path.join('.')}: ${issue.message}`}`);
  }
  return intent.subnets.map((subnet) => {
    let cidr: Cidr;
    try {
      cidr = parseCidr(subnet.cidr, { strict: true });
    } catch (error) {
      throw invalid(`subnet ${subnet.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const wantVersion = subnet.mode === 'dhcpv4' ? 4 : 6;
    if (cidr.version !== wantVersion) throw invalid(`subnet ${subnet.id}: ${subnet.mode} needs an IPv${wantVersion} CIDR, not ${subnet.cidr}`);
    if (subnet.gatewayIp !== null && (!isValidIp(subnet.gatewayIp) || parseIp(subnet.gatewayIp).version !== cidr.version)) {
      throw invalid(`subnet ${subnet.id}: gateway ${subnet.gatewayIp} is not an IPv${cidr.version} address`);
    }
    return { subnet, cidr };
  });
}

function netmask(prefixLength: number): string {
  const mask = prefixLength === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefixLength)) - 1n);
  return formatIp(4, mask);
}

/**
 * `--dhcp-range` for one subnet. `static` for every mode, as Neutron does: dnsmasq then hands
 * out only the addresses of --dhcp-hostsfile, and on a dhcpv6-stateless subnet (whose hosts
 * have no address lines) a static context is exactly what makes dnsmasq answer
 * Information-requests (options only) and nothing else.
 */
function rangeArg(parsed: ParsedSubnet, leaseSeconds: number): string {
  const { subnet, cidr } = parsed;
  const network = formatIp(cidr.version, cidr.network);
  const mask = cidr.version === 4 ? netmask(cidr.prefixLength) : String(cidr.prefixLength);
  return `--dhcp-range=set:${subnetTag(subnet.id)},${network},static,${mask},${leaseSeconds}s`;
}

function leaseMax(subnets: readonly ParsedSubnet[]): number {
  const total = subnets.reduce((sum, s) => sum + cidrSize(s.cidr), 0n);
  return Number(total < BigInt(DNSMASQ_LEASE_MAX) ? total : BigInt(DNSMASQ_LEASE_MAX));
}

/**
 * The command that starts dnsmasq for one network, in its namespace, with its files in `dir`
 * (see `dhcpServerFiles`). Pure: the same intent and directory give the same argv, which is
 * stored and compared to decide on a restart.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_NAME` / `DATAPLANE.INVALID_CONFIG`
 */
export function dnsmasqArgv(intent: DhcpServerIntent, dir: string): string[] {
  const files = dhcpServerFiles(dir);
  const subnets = parseSubnets(intent);
  return [
    'ip',
    'netns',
    'exec',
    assertNetnsName(intent.namespace),
    'dnsmasq',
    // never /etc/dnsmasq.conf: a packaged or hand-written config would change every server
    '--conf-file=/dev/null',
    // DHCP only; with port 0 dnsmasq also stops offering itself as the DNS server
    '--port=0',
    '--no-hosts',
    '--no-resolv',
    `--interface=${assertLinkName(intent.ifname)}`,
    '--bind-interfaces',
    '--except-interface=lo',
    // dnsmasq would otherwise drop to "nobody" after start-up, and on SIGHUP re-read the hosts
    // and opts files as that user: with a state directory that is not world-searchable (the
    // agent's is root's) the reload fails silently and the old leases stay. The agent already
    // runs as root and the daemon is confined to the network's namespace.
    '--user=root',
    '--group=root',
    `--pid-file=${files.pidFile}`,
    `--dhcp-leasefile=${files.leaseFile}`,
    `--dhcp-hostsfile=${files.hostsFile}`,
    `--dhcp-optsfile=${files.optsFile}`,
    // the agent runs without a syslog daemon in containers and tests; a file next to the state
    `--log-facility=${files.logFile}`,
    // answer at once with a NAK when a client asks for an address that is not its own, instead
    // of letting it time out (a moved port, a lease from another network)
    '--dhcp-authoritative',
    `--domain=${intent.domain}`,
    `--dhcp-lease-max=${leaseMax(subnets)}`,
    ...subnets.map((s) => rangeArg(s, intent.leaseSeconds)),
  ];
}

/** The first served subnet containing the address, for host lines (addressed modes only). */
function addressedSubnet(subnets: readonly ParsedSubnet[], ip: string): ParsedSubnet | undefined {
  const parsed = parseIp(ip);
  return subnets.find((s) => s.subnet.mode !== 'dhcpv6-stateless' && s.cidr.version === parsed.version && cidrContainsIp(s.cidr, parsed));
}

function hostError(host: DhcpHostIntent, error: string): DhcpPortError {
  return { portId: typeof host.portId === 'string' ? host.portId : '?', error };
}

/** A port is left out when it fails the schema; the message names the first problem. */
function checkHost(host: DhcpHostIntent): string | null {
  const result = DhcpHostIntentSchema.safeParse(host);
  if (result.success) return null;
  const [issue] = result.error.issues;
  return issue === undefined ? 'invalid port' : `${issue.path.join('.') || 'port'}: ${issue.message}`;
}

function sortedHosts(intent: DhcpServerIntent): DhcpHostIntent[] {
  return [...intent.hosts].sort((a, b) => (String(a.portId) < String(b.portId) ? -1 : String(a.portId) > String(b.portId) ? 1 : 0));
}

/**
 * The --dhcp-hostsfile: one static lease per (port, address) in Neutron's format,
 * `<mac>,<hostname>.<domain>,<ipv4>` and `...,[<ipv6>]`, for the addresses on dhcpv4 and
 * dhcpv6-stateful subnets (a SLAAC or stateless address is the client's own business). Ports
 * sorted by id, so the file only changes when the ports do.
 *
 * Unlike Neutron, `,set:port-<id>` is added only to the lines of ports with extra options (the
 * only thing the tag selects): dnsmasq 2.86-2.90 crashes on SIGHUP when a host line with a
 * `set:` tag matches an existing lease (a general protection fault in free(); seen with
 * Debian 12's 2.90). Untagged files can be reloaded; see `hostsReloadSafe`.
 */
export function renderDhcpHosts(intent: DhcpServerIntent): RenderedDhcpFile {
  const subnets = parseSubnets(intent);
  const lines: string[] = [];
  const portErrors: DhcpPortError[] = [];
  const macs = new Map<string, string>();
  for (const host of sortedHosts(intent)) {
    const problem = checkHost(host);
    if (problem !== null) {
      portErrors.push(hostError(host, problem));
      continue;
    }
    const owner = macs.get(host.macAddress);
    if (owner !== undefined) {
      // two ports with one MAC would make dnsmasq pick one of them at random
      portErrors.push(hostError(host, `MAC ${host.macAddress} is also the MAC of port ${owner}`));
      continue;
    }
    macs.set(host.macAddress, host.portId);
    const name = `${host.hostname}.${intent.domain}`;
    for (const ip of host.ipAddresses) {
      if (addressedSubnet(subnets, ip) === undefined) continue;
      const address = normalizeIp(ip);
      const field = address.includes(':') ? `[${address}]` : address;
      const tag = host.extraOptions.length > 0 ? `,set:${portTag(host.portId)}` : '';
      lines.push(`${host.macAddress},${name},${field}${tag}`);
    }
  }
  return { text: lines.map((l) => `${l}\n`).join(''), portErrors };
}

/**
 * Whether dnsmasq survives a SIGHUP that replaces this hosts file with another: not when either
 * has a `set:` tag (the 2.86-2.90 crash above); the daemon is restarted instead, which keeps the
 * leases (they are in the lease file) and costs clients nothing but a retransmission.
 */
export function hostsReloadSafe(...hostsFiles: readonly (string | null)[]): boolean {
  return hostsFiles.every((text) => text === null || !/,set:/.test(text));
}

/**
 * The lease file without the leases the hosts file no longer backs: an IPv4 lease whose MAC
 * and address are not a static lease any more, an IPv6 lease whose address is not. dnsmasq
 * keeps a deleted port's lease after a reload, and while it holds it the address is "not
 * available" to anyone else: a new port given the same address (IPAM reuses the lowest free
 * one) would get no lease (seen with 2.90). So such leases are dropped while dnsmasq is
 * stopped; Neutron does the same with dhcp_release. Other lines (`duid`) are kept.
 */
export function leasesBackedByHosts(leaseText: string, hostsText: string): string {
  const v4 = new Set<string>();
  const v6 = new Set<string>();
  for (const line of hostsText.split('\n')) {
    const [mac, , field] = line.split(',');
    if (mac === undefined || field === undefined) continue;
    if (field.startsWith('[')) v6.add(normalizeIp(field.slice(1, -1)));
    else v4.add(`${mac.toLowerCase()}|${normalizeIp(field)}`);
  }
  const kept = leaseText.split('\n').filter((line) => {
    const [, id, ip] = line.trim().split(/\s+/);
    if (id === undefined || ip === undefined || !isValidIp(ip)) return true;
    return ip.includes(':') ? v6.has(normalizeIp(ip)) : v4.has(`${id.toLowerCase()}|${normalizeIp(ip)}`);
  });
  return kept.join('\n');
}

function v4Routes(parsed: ParsedSubnet): string[] {
  const { subnet } = parsed;
  const routes: string[] = [];
  let hasDefault = false;
  for (const route of subnet.hostRoutes) {
    let destination: Cidr;
    try {
      destination = parseCidr(route.destination, { strict: true });
    } catch (error) {
      throw invalid(`subnet ${subnet.id}: host route ${route.destination}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (destination.version !== 4 || !isValidIp(route.nexthop) || parseIp(route.nexthop).version !== 4) {
      throw invalid(`subnet ${subnet.id}: host route ${route.destination} via ${route.nexthop} is not IPv4`);
    }
    if (destination.prefixLength === 0) hasDefault = true;
    routes.push(`${formatIp(4, destination.network)}/${destination.prefixLength},${normalizeIp(route.nexthop)}`);
  }
  // RFC 3442: a client that receives option 121 ignores the router option, so the default
  // route must be in the classless routes as well
  if (!hasDefault && subnet.gatewayIp !== null && routes.length > 0) routes.push(`0.0.0.0/0,${normalizeIp(subnet.gatewayIp)}`);
  return routes;
}

function optionKey(family: 4 | 6, name: string): string {
  // numbers are written bare (dnsmasq's own form, e.g. `249,...`), names with their namespace
  if (/^\d+$/.test(name)) return family === 4 ? name : `option6:${name}`;
  return family === 4 ? `option:${name}` : `option6:${name}`;
}

function subnetOptions(parsed: ParsedSubnet, intent: DhcpServerIntent): string[] {
  const { subnet, cidr } = parsed;
  const tag = `tag:${subnetTag(subnet.id)}`;
  const dns = subnet.dnsNameservers.filter((ip) => isValidIp(ip) && parseIp(ip).version === cidr.version).map(normalizeIp);
  if (dns.length !== subnet.dnsNameservers.length) throw invalid(`subnet ${subnet.id}: every DNS server must be an IPv${cidr.version} address`);
  if (cidr.version === 6) {
    return [...(dns.length > 0 ? [`${tag},option6:dns-server,${dns.map((ip) => `[${ip}]`).join(',')}`] : []), `${tag},option6:domain-search,${intent.domain}`];
  }
  const routes = v4Routes(parsed);
  return [
    // an empty router option when there is no gateway: the client installs no default route
    subnet.gatewayIp === null ? `${tag},option:router` : `${tag},option:router,${normalizeIp(subnet.gatewayIp)}`,
    ...(dns.length > 0 ? [`${tag},option:dns-server,${dns.join(',')}`] : []),
    // 249 is Microsoft's pre-standard code for the same routes, for older Windows clients
    ...(routes.length > 0 ? [`${tag},option:classless-static-route,${routes.join(',')}`, `${tag},249,${routes.join(',')}`] : []),
    `${tag},option:mtu,${intent.mtu}`,
    `${tag},option:domain-search,${intent.domain}`,
  ];
}

/**
 * Untagged IPv6 options for Information-requests (dhcpv6-stateless). Such a request carries no
 * address, so dnsmasq cannot tell which subnet it is for: with one IPv6 dhcp-range on the link
 * it still sets that range's tag, with several it sets none (only `known`, `dhcpv6` and the
 * interface) and a `tag:subnet-...` option is not sent. These fill that gap, only when no IPv6
 * subnet tag is set (`tag:!subnet-...` for each): the stateless subnets' DNS servers (in subnet
 * order, without duplicates) and the domain.
 */
function informationRequestOptions(subnets: readonly ParsedSubnet[], intent: DhcpServerIntent): string[] {
  const v6 = subnets.filter((s) => s.cidr.version === 6);
  const stateless = v6.filter((s) => s.subnet.mode === 'dhcpv6-stateless');
  if (stateless.length === 0) return [];
  // only when no IPv6 subnet tag is set: a stateful subnet without DNS servers gets none
  const untagged = v6.map((s) => `tag:!${subnetTag(s.subnet.id)},`).join('');
  const dns = [...new Set(stateless.flatMap((s) => s.subnet.dnsNameservers.map(normalizeIp)))];
  return [
    ...(dns.length > 0 ? [`${untagged}option6:dns-server,${dns.map((ip) => `[${ip}]`).join(',')}`] : []),
    `${untagged}option6:domain-search,${intent.domain}`,
  ];
}

/**
 * The --dhcp-optsfile: per subnet (`tag:subnet-<id>`) the router, DNS servers, classless
 * static routes (121 and 249, with the default route), MTU and domain search for IPv4, DNS
 * servers and domain search for IPv6, then the untagged Information-request fallback (see
 * `informationRequestOptions`); then per port (`tag:port-<id>`) its extra options.
 */
export function renderDhcpOpts(intent: DhcpServerIntent): RenderedDhcpFile {
  const subnets = parseSubnets(intent);
  const lines = [...subnets.flatMap((s) => subnetOptions(s, intent)), ...informationRequestOptions(subnets, intent)];
  const portErrors: DhcpPortError[] = [];
  for (const host of sortedHosts(intent)) {
    const problem = checkHost(host);
    if (problem !== null) {
      portErrors.push(hostError(host, problem));
      continue;
    }
    for (const option of host.extraOptions) {
      lines.push(`tag:${portTag(host.portId)},${optionKey(option.ipVersion, option.name)},${option.value}`);
    }
  }
  return { text: lines.map((l) => `${l}\n`).join(''), portErrors };
}
