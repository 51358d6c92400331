import { routerInterfaceName, routerNamespace, type RouterIntent } from '@ncp/contracts';
import { parseCidr, parseIp } from '@ncp/netaddr';

/** The facts a router's intent is computed from, as the L3 projection holds them. */
export interface RouterFacts {
  readonly id: string;
  readonly adminStateUp: boolean;
  readonly enableSnat: boolean;
  readonly natExclusions: readonly string[];
  readonly routes: readonly { destination: string; nexthop: string }[];
  readonly gateway: { portId: string; fixedIps: readonly { subnetId: string; ipAddress: string }[] } | null;
  readonly interfaces: readonly { portId: string; fixedIps: readonly { subnetId: string; ipAddress: string }[] }[];
  readonly floatingIps: readonly { id: string; floatingIpAddress: string; fixedIpAddress: string }[];
}

export interface SubnetFacts {
  readonly cidr: string;
  readonly ipVersion: number;
  readonly gatewayIp: string | null;
  readonly addressScopeId: string | null;
}

const prefixLength = (cidr: string) => parseCidr(cidr).prefixLength;

/**
 * What the router's host must build (pure). NAT policy:
 * - no IPv6 NAT (Neutron routes IPv6);
 * - an internal IPv4 subnet in the same address scope as the external subnet is routed
 *   with its own addresses (no NAT: the operator's "avoid NAT" case);
 * - any other internal IPv4 subnet is SNATed to the gateway address when enable_snat,
 *   except towards the router's `nat_exclusions`;
 * - every floating IP is a 1:1 DNAT + SNAT.
 */
export function routerIntent(router: RouterFacts, subnets: ReadonlyMap<string, SubnetFacts>): RouterIntent {
  const addresses = (fixedIps: readonly { subnetId: string; ipAddress: string }[]) =>
    fixedIps.flatMap((f) => {
      const s = subnets.get(f.subnetId);
      return s ? [`${f.ipAddress}/${prefixLength(s.cidr)}`] : [];
    });
  const interfaces: RouterIntent['interfaces'] = router.interfaces.map((i) => ({
    portId: i.portId,
    kind: 'internal',
    ifname: routerInterfaceName('internal', i.portId),
    addresses: addresses(i.fixedIps),
  }));
  const routes: RouterIntent['routes'] = [];
  let gatewayV4: { address: string; scope: string | null } | null = null;
  if (router.gateway) {
    interfaces.push({
      portId: router.gateway.portId,
      kind: 'gateway',
      ifname: routerInterfaceName('gateway', router.gateway.portId),
      addresses: addresses(router.gateway.fixedIps),
    });
    for (const f of router.gateway.fixedIps) {
      const s = subnets.get(f.subnetId);
      if (!s) continue;
      if (s.ipVersion === 4 && gatewayV4 === null) gatewayV4 = { address: f.ipAddress, scope: s.addressScopeId };
      const destination = s.ipVersion === 4 ? '0.0.0.0/0' : '::/0';
      if (s.gatewayIp !== null && !routes.some((r) => r.destination === destination)) routes.push({ destination, nexthop: s.gatewayIp });
    }
  }
  routes.push(...router.routes);

  const snat: RouterIntent['snat'] = [];
  if (router.enableSnat && gatewayV4 !== null) {
    const exceptDestinations = router.natExclusions.filter((c) => parseCidr(c).version === 4);
    const sources = new Set<string>();
    for (const i of router.interfaces) {
      for (const f of i.fixedIps) {
        const s = subnets.get(f.subnetId);
        if (!s || s.ipVersion !== 4 || sources.has(s.cidr)) continue;
        if (s.addressScopeId !== null && s.addressScopeId === gatewayV4.scope) continue;
        sources.add(s.cidr);
        snat.push({ source: s.cidr, to: gatewayV4.address, exceptDestinations });
      }
    }
  }
  return {
    id: router.id,
    namespace: routerNamespace(router.id),
    adminStateUp: router.adminStateUp,
    interfaces,
    routes,
    snat,
    floatingIps: router.floatingIps
      .filter((f) => parseIp(f.floatingIpAddress).version === 4)
      .map((f) => ({ id: f.id, floatingIp: f.floatingIpAddress, fixedIp: f.fixedIpAddress })),
  };
}
