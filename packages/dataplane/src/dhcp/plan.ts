import { type DhcpServerIntent, type RaIntent } from '@ncp/contracts';
import { isValidIp, normalizeIp, parseCidr, parseIp } from '@ncp/netaddr';
import { ipArgv } from '../argv.js';
import { DataplaneError } from '../errors.js';
import { netnsExecArgv } from '../l3/argv.js';
import { type ObservedRouterLink } from '../l3/observed.js';
import { assertLinkName, assertNetnsName } from '../names.js';

/** The sysctl key in its slash form: an interface name may contain dots, the dotted form's separator. */
export function acceptRaKey(ifname: string): string {
  return `net/ipv6/conf/${assertLinkName(ifname)}/accept_ra`;
}

/** One command of the DHCP port's set-up, with the reason shown when it fails. */
export interface DhcpLinkStep {
  readonly argv: readonly string[];
  readonly why: string;
}

/** `10.0.0.2/24` with the address in canonical form; host bits kept (it is an interface address). */
function canonicalAddress(cidr: string): string {
  const slash = cidr.indexOf('/');
  const ip = cidr.slice(0, slash);
  if (slash < 0 || !isValidIp(ip)) throw new DataplaneError('DATAPLANE.INVALID_ADDRESS', `'${cidr}' is not an address with a prefix length`);
  const parsed = parseCidr(cidr); // checks the prefix length against the family
  return `${normalizeIp(ip)}/${parsed.prefixLength}`;
}

/**
 * What the DHCP port's interface needs so dnsmasq can serve: no router advertisements, lo up (dnsmasq binds there too
 * unless excluded, and some kernels route to own addresses through it), the interface up, the
 * intent's addresses and no other global ones (an address left from a removed subnet would make
 * dnsmasq answer for a subnet it should not). Link-local addresses are the kernel's: kept.
 * Pure; an empty list means converged.
 *
 * @throws DataplaneError when the interface is missing (not plugged yet: the item is retried)
 *   or an address is invalid
 */
export function planServerLinks(intent: DhcpServerIntent, links: readonly ObservedRouterLink[], acceptRa: string | null): DhcpLinkStep[] {
  const ns = assertNetnsName(intent.namespace);
  const ifname = assertLinkName(intent.ifname);
  const wanted = intent.addresses.map(canonicalAddress);
  const link = links.find((l) => l.name === ifname);
  if (link === undefined) {
    throw new DataplaneError('DATAPLANE.COMMAND_FAILED', `interface ${ifname} is not in namespace ${ns} yet (the L2 driver plugs the DHCP port)`);
  }
  const steps: DhcpLinkStep[] = [];
  const lo = links.find((l) => l.name === 'lo');
  if (lo !== undefined && !lo.up) steps.push({ argv: ipArgv(ns, 'link', 'set', 'dev', 'lo', 'up'), why: 'bringing lo up' });
  if (!link.up) steps.push({ argv: ipArgv(ns, 'link', 'set', 'dev', ifname, 'up'), why: `bringing ${ifname} up` });
  // The port hears the router's advertisements on its own network: accepting them would add a
  // SLAAC address (which dnsmasq would then serve from, and we would delete on every pass) and
  // a default route. null: IPv6 is off on the interface, nothing to switch off.
  if (acceptRa !== null && acceptRa !== '0') {
    steps.push({ argv: netnsExecArgv(ns, 'sysctl', '-q', '-w', `${acceptRaKey(ifname)}=0`), why: `disabling router advertisements on ${ifname}` });
  }
  const present = new Set<string>();
  for (const address of link.addresses) {
    if (address.scope === 'link' || address.scope === 'host') continue;
    // a DAD failure leaves the address unusable: remove it and add it again below (nodad)
    if (wanted.includes(address.cidr) && !address.dadFailed) {
      present.add(address.cidr);
      continue;
    }
    steps.push({ argv: ipArgv(ns, 'addr', 'del', address.cidr, 'dev', ifname), why: `removing ${address.cidr} from ${ifname}` });
  }
  for (const cidr of wanted) {
    if (present.has(cidr)) continue;
    present.add(cidr);
    // nodad: the DHCP port's address is unique by IPAM, and dnsmasq cannot bind to a tentative one
    const nodad = parseIp(cidr.slice(0, cidr.indexOf('/'))).version === 6 ? ['nodad'] : [];
    steps.push({ argv: ipArgv(ns, 'addr', 'add', cidr, 'dev', ifname, ...nodad), why: `adding ${cidr} to ${ifname}` });
  }
  return steps;
}

/**
 * What a router's qr- interfaces need before radvd advertises from them: each must be there
 * (the L2 driver plugs them) and hold its own link-local address, the RA's only allowed source
 * (`AdvRASrcAddress`). The kernel forms that address from the MAC at link up (addr_gen_mode
 * eui64, the default); it is added here where it did not (another addr_gen_mode, or a MAC
 * changed while the link was up), and added again after a DAD failure. Other link-local
 * addresses (the metadata driver's fe80::a9fe:a9fe, the kernel's) are not ours to touch.
 * nodad: IPAM keeps MACs unique on a network, and a tentative source would hold back the RAs.
 * For an HA router (`keepalivedHoldsSource`) the address is keepalived's, held by the VRRP
 * master only: nothing is added, so radvd advertises from the master alone (it sends nothing
 * without its source address). Pure; an empty list means converged.
 *
 * @throws DataplaneError when an interface is missing (not plugged yet: the item is retried)
 */
export function planRaLinks(intent: RaIntent, links: readonly ObservedRouterLink[], keepalivedHoldsSource = false): DhcpLinkStep[] {
  const ns = assertNetnsName(intent.namespace);
  const missing = intent.interfaces.map((i) => i.ifname).filter((name) => !links.some((l) => l.name === name));
  if (missing.length > 0) throw new DataplaneError('DATAPLANE.COMMAND_FAILED', `interface ${missing.join(', ')} is not in namespace ${ns} yet`);
  const steps: DhcpLinkStep[] = [];
  if (keepalivedHoldsSource) return steps;
  for (const iface of intent.interfaces) {
    const ifname = assertLinkName(iface.ifname);
    const cidr = `${normalizeIp(iface.sourceAddress)}/64`;
    const present = links.find((l) => l.name === ifname)?.addresses.find((a) => a.cidr === cidr);
    if (present !== undefined && !present.dadFailed) continue;
    if (present !== undefined)
      steps.push({ argv: ipArgv(ns, 'addr', 'del', cidr, 'dev', ifname), why: `${cidr} failed DAD on ${ifname}: removing it to add it again` });
    steps.push({ argv: ipArgv(ns, 'addr', 'add', cidr, 'dev', ifname, 'nodad'), why: `adding the RA source ${cidr} to ${ifname}` });
  }
  return steps;
}

export type DaemonAction = 'none' | 'start' | 'restart' | 'reload';

/**
 * What to do with a daemon: start it when ours is not running, restart it when its command
 * line changed (dnsmasq reads ranges and options only at start-up) or its files changed but a
 * reload is not safe, reload (SIGHUP) when only the files it re-reads changed, and nothing
 * otherwise.
 */
export function daemonAction(running: boolean, argvChanged: boolean, filesChanged: boolean, reloadSafe = true): DaemonAction {
  if (!running) return 'start';
  if (argvChanged) return 'restart';
  if (!filesChanged) return 'none';
  return reloadSafe ? 'reload' : 'restart';
}
