import { type ResourceReport, type BgpSpeakerIntent, type DhcpServerIntent, type L2PortIntent, type RaIntent, type RouterIntent } from '@ncp/contracts';
import { type BgpItemResult } from '@ncp/dataplane';
import { bgpReports } from './bgp-reports';

/** What every driver returns per item (the L2 driver adds its steps, BGP its sessions). */
export type DriverResult =
  | { readonly item: string; readonly ok: true; readonly warnings?: readonly string[]; readonly haState?: 'active' | 'standby' }
  | { readonly item: string; readonly ok: false; readonly error: string };

/** The intents some drivers were given and what they returned; a driver that did not run is absent. */
export interface DriverResults {
  readonly l2?: { readonly ports: readonly L2PortIntent[]; readonly results: readonly DriverResult[] };
  readonly l3?: { readonly routers: readonly RouterIntent[]; readonly results: readonly DriverResult[] };
  readonly dhcp?: { readonly servers: readonly DhcpServerIntent[]; readonly ras: readonly RaIntent[]; readonly results: readonly DriverResult[] };
  readonly bgp?: { readonly speakers: readonly BgpSpeakerIntent[]; readonly results: readonly BgpItemResult[] };
}

/** The error of an item that failed, by item name (`port:<id>`, `router:<id>`, ...). */
function errorsOf(results: readonly DriverResult[]): (item: string) => string | undefined {
  const byItem = new Map(results.map((r) => [r.item, r]));
  return (item) => {
    const r = byItem.get(item);
    return r && !r.ok ? (r.error ?? 'failed') : undefined;
  };
}

/**
 * The status of every resource the drivers were given, from what they returned: ports, then
 * routers with their floating IPs, DHCP servers with the ports they serve, RAs, BGP speakers.
 */
export function reports(r: DriverResults): ResourceReport[] {
  return [
    ...(r.l2 ? portReports(r.l2.ports, r.l2.results) : []),
    ...(r.l3 ? routerReports(r.l3.routers, r.l3.results) : []),
    ...(r.dhcp ? dhcpReports(r.dhcp.servers, r.dhcp.ras, r.dhcp.results) : []),
    ...(r.bgp ? bgpReports(r.bgp.speakers, r.bgp.results) : []),
  ];
}

function portReports(ports: readonly L2PortIntent[], results: readonly DriverResult[]): ResourceReport[] {
  const errorOf = errorsOf(results);
  return ports.map((p) => {
    const netError = errorOf(`network:${p.networkId}`);
    const error = errorOf(`port:${p.id}`) ?? (netError !== undefined ? `network ${p.networkId}: ${netError}` : undefined);
    if (error !== undefined) return { kind: 'port', id: p.id, networkId: p.networkId, status: 'ERROR', reason: error };
    return { kind: 'port', id: p.id, networkId: p.networkId, status: p.adminStateUp ? 'ACTIVE' : 'DOWN', reason: p.adminStateUp ? 'plugged' : 'admin down' };
  });
}

function routerReports(routers: readonly RouterIntent[], results: readonly DriverResult[]): ResourceReport[] {
  const errorOf = errorsOf(results);
  const haStates = new Map(results.flatMap((r) => (r.ok && r.haState !== undefined ? [[r.item, r.haState] as const] : [])));
  const reports: ResourceReport[] = [];
  for (const r of routers) {
    const error = errorOf(`router:${r.id}`);
    const haState = haStates.get(`router:${r.id}`);
    const reason = error ?? (r.adminStateUp ? 'configured' : 'admin down');
    reports.push({
      kind: 'router',
      id: r.id,
      networkId: null,
      status: error !== undefined ? 'ERROR' : r.adminStateUp ? 'ACTIVE' : 'DOWN',
      // an HA router's role is in the reason too: a change of role alone is a change to report
      reason: haState === undefined ? reason : `${reason}, HA ${haState}`,
      ...(haState === undefined ? {} : { haState }),
    });
    for (const f of r.floatingIps) {
      const fipError = errorOf(`fip:${f.id}`);
      reports.push({ kind: 'floatingip', id: f.id, networkId: null, status: fipError !== undefined ? 'ERROR' : 'ACTIVE', reason: fipError ?? 'NAT in place' });
    }
  }
  return reports;
}

function dhcpReports(servers: readonly DhcpServerIntent[], ras: readonly RaIntent[], results: readonly DriverResult[]): ResourceReport[] {
  const errorOf = errorsOf(results);
  const reports: ResourceReport[] = [];
  const warningsOf = new Map(results.flatMap((r) => (r.ok && r.warnings ? [[r.item, r.warnings.join('\n')] as const] : [])));
  for (const d of servers) {
    const error = errorOf(`dhcp:${d.networkId}`);
    reports.push({ kind: 'dhcp', id: d.networkId, networkId: d.networkId, status: error !== undefined ? 'ERROR' : 'ACTIVE', reason: error ?? 'serving' });
    if (error !== undefined) continue;
    // Each port dnsmasq now serves, so IPAM lifts its DHCP provisioning block; the reason
    // names what is served, so a changed MAC or address is confirmed again.
    const warnings = warningsOf.get(`dhcp:${d.networkId}`) ?? '';
    for (const h of d.hosts) {
      if (warnings.includes(h.portId)) continue;
      reports.push({ kind: 'dhcp_port', id: h.portId, networkId: d.networkId, status: 'ACTIVE', reason: `served: ${h.macAddress} ${h.ipAddresses.join(' ')}` });
    }
  }
  for (const r of ras) {
    const error = errorOf(`ra:${r.routerId}`);
    reports.push({ kind: 'ra', id: r.routerId, networkId: null, status: error !== undefined ? 'ERROR' : 'ACTIVE', reason: error ?? 'advertising' });
  }
  return reports;
}
