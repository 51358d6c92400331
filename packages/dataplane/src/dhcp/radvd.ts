import { RaIntentSchema, type RaIntent, type RaInterfaceIntent } from '@ncp/contracts';
import { formatIp, normalizeIp, parseCidr, parseIp } from '@ncp/netaddr';
import { DataplaneError } from '../errors.js';
import { assertNetnsName } from '../names.js';
import { raFiles } from './paths.js';

function invalid(message: string): DataplaneError {
  return new DataplaneError('DATAPLANE.INVALID_CONFIG', message);
}

/** radvd takes at most three addresses per RDNSS line. */
const RDNSS_PER_LINE = 3;

/**
 * The timing rules radvd enforces at start-up (RFC 4861 6.2.1): a config it refuses would leave
 * the router without advertisements, so it is refused here with a message that says why.
 */
function checkTiming(intent: RaIntent): void {
  const checked = RaIntentSchema.safeParse(intent);
  if (!checked.success) {
    const [issue] = checked.error.issues;
    throw invalid(`RA of router ${String(intent.routerId)}: ${issue === undefined ? 'invalid' : `${issue.path.join('.')}: ${issue.message}`}`);
  }
  if (intent.minInterval > 0.75 * intent.maxInterval)
    throw invalid(`minInterval ${intent.minInterval} must be at most 0.75 * maxInterval (${intent.maxInterval})`);
  if (intent.routerLifetime !== 0 && intent.routerLifetime < intent.maxInterval) {
    throw invalid(`routerLifetime ${intent.routerLifetime} must be 0 or at least maxInterval (${intent.maxInterval})`);
  }
  if (intent.preferredLifetime > intent.validLifetime)
    throw invalid(`preferredLifetime ${intent.preferredLifetime} exceeds validLifetime ${intent.validLifetime}`);
}

const onOff = (flag: boolean): string => (flag ? 'on' : 'off');

function interfaceBlock(intent: RaIntent, iface: RaInterfaceIntent): string[] {
  const lines = [
    `interface ${iface.ifname}`,
    '{',
    '\tAdvSendAdvert on;',
    `\tMinRtrAdvInterval ${intent.minInterval};`,
    `\tMaxRtrAdvInterval ${intent.maxInterval};`,
    `\tAdvDefaultLifetime ${intent.routerLifetime};`,
    `\tAdvLinkMTU ${iface.mtu};`,
    `\tAdvManagedFlag ${onOff(iface.managed)};`,
    `\tAdvOtherConfigFlag ${onOff(iface.otherConfig)};`,
    // The only address radvd may send from: without it radvd takes the first link-local
    // address the kernel lists, the newest, which is fe80::a9fe:a9fe once metadata is on the
    // interface; workloads would route through the metadata address. Should the address be
    // missing, radvd sends nothing rather than send from another (the RA driver adds it).
    '\tAdvRASrcAddress',
    '\t{',
    `\t\t${normalizeIp(iface.sourceAddress)};`,
    '\t};',
  ];
  for (const prefix of iface.prefixes) {
    const cidr = parseCidr(prefix.cidr, { strict: true });
    if (cidr.version !== 6) throw invalid(`${iface.ifname}: prefix ${prefix.cidr} is not IPv6`);
    // SLAAC builds a 64-bit interface identifier: any other length gets no address
    if (prefix.autonomous && cidr.prefixLength !== 64) throw invalid(`${iface.ifname}: an autonomous prefix must be a /64, not ${prefix.cidr}`);
    lines.push(
      '',
      `\tprefix ${formatIp(6, cidr.network)}/${cidr.prefixLength}`,
      '\t{',
      '\t\tAdvOnLink on;',
      `\t\tAdvAutonomous ${onOff(prefix.autonomous)};`,
      `\t\tAdvValidLifetime ${intent.validLifetime};`,
      `\t\tAdvPreferredLifetime ${intent.preferredLifetime};`,
      '\t};',
    );
  }
  const rdnss = iface.rdnss.map((ip) => {
    if (parseIp(ip).version !== 6) throw invalid(`${iface.ifname}: RDNSS ${ip} is not IPv6`);
    return normalizeIp(ip);
  });
  for (let i = 0; i < rdnss.length; i += RDNSS_PER_LINE) {
    lines.push('', `\tRDNSS ${rdnss.slice(i, i + RDNSS_PER_LINE).join(' ')}`, '\t{', '\t};');
  }
  lines.push('};');
  return lines;
}

/**
 * radvd.conf for one router: one `interface` block per qr- interface, in intent order.
 *
 * @throws DataplaneError `DATAPLANE.INVALID_CONFIG`
 */
export function renderRadvdConf(intent: RaIntent): string {
  checkTiming(intent);
  const names = intent.interfaces.map((i) => i.ifname);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw invalid(`interface ${twice} is listed twice`);
  return intent.interfaces.map((iface) => `${interfaceBlock(intent, iface).join('\n')}\n`).join('\n');
}

/**
 * The command that starts radvd in the router's namespace with its files in `dir`. It runs as
 * root without `-u`: it needs raw ICMPv6 sockets and per-interface sysctls, and radvd's own
 * privilege separation would also want the config readable by that user. It logs to a file
 * (`-m logfile`): there may be no syslog daemon, and a daemon's stderr goes nowhere.
 */
export function radvdArgv(intent: RaIntent, dir: string): string[] {
  const files = raFiles(dir);
  return ['ip', 'netns', 'exec', assertNetnsName(intent.namespace), 'radvd', '-C', files.confFile, '-p', files.pidFile, '-m', 'logfile', '-l', files.logFile];
}
