import {
  cidrsOverlap,
  defaultAllocationPools,
  defaultGateway,
  formatCidr,
  formatIp,
  parseCidr,
  parseRange,
  rangeToPool,
  validateAllocationPools,
  validateGateway,
  NetaddrError,
  type Cidr,
  type IpAddress,
  type IpRange,
} from '@ncp/netaddr';
import { badRequest, conflict, invalidInput, ipInput, unique } from './rules';
import { type Ipv6Mode, type NetworkState } from './network.state';

/** What a subnet is made of once the handler has resolved pools and defaults. */
export interface SubnetRequest {
  readonly ipVersion: 4 | 6;
  readonly cidr: string;
  /** undefined: Neutron's default (first host); null: no gateway. */
  readonly gatewayIp: string | null | undefined;
  /** undefined: every usable address but the gateway. */
  readonly allocationPools: readonly { start: string; end: string }[] | undefined;
  readonly enableDhcp: boolean;
  readonly dnsNameservers: readonly string[];
  readonly hostRoutes: readonly { destination: string; nexthop: string }[];
  readonly ipv6RaMode: Ipv6Mode | null;
  readonly ipv6AddressMode: Ipv6Mode | null;
  readonly subnetPoolId: string | null;
  readonly addressScopeId: string | null;
  readonly serviceTypes: readonly string[];
  readonly name: string;
  readonly description: string;
}

export const MAX_DNS_NAMESERVERS = 5;
export const MAX_HOST_ROUTES = 20;
/** IPv6 needs at least this MTU (RFC 8200). */
export const IPV6_MIN_MTU = 1280;

/** A subnet cidr as Neutron validates it: no host bits, not /0. */
export function subnetCidr(text: string): Cidr {
  let cidr: Cidr;
  try {
    cidr = parseCidr(text, { strict: true });
  } catch (e) {
    let hint = '';
    try {
      hint = `, '${formatCidr(parseCidr(text))}' is recommended`;
    } catch {
      // not a CIDR at all
    }
    throw badRequest(`Invalid input for cidr. Reason: '${text}' isn't a recognized IP subnet cidr${hint}.`, e instanceof NetaddrError ? e.message : '');
  }
  if (cidr.prefixLength === 0) throw invalidInput(`${text} is not a valid subnet: prefix length 0 is not allowed`);
  return cidr;
}

/** Neutron's rules for the two IPv6 mode attributes. */
export function validateIpv6Modes(ipVersion: 4 | 6, cidr: Cidr, ra: Ipv6Mode | null, address: Ipv6Mode | null): void {
  if (ipVersion === 4) {
    if (ra !== null) throw invalidInput(`ipv6_ra_mode set to '${ra}' with ip_version 4 is not valid`);
    if (address !== null) throw invalidInput(`ipv6_address_mode set to '${address}' with ip_version 4 is not valid`);
    return;
  }
  if (ra !== null && address !== null && ra !== address) {
    throw invalidInput(
      `ipv6_ra_mode set to '${ra}' with ipv6_address_mode set to '${address}' is not valid. If both attributes are set, they must be the same value`,
    );
  }
  const mode = address ?? ra;
  if ((mode === 'slaac' || mode === 'dhcpv6-stateless') && cidr.prefixLength !== 64) {
    throw invalidInput(`Invalid CIDR ${formatCidr(cidr)} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64`);
  }
}

/** Nameservers of either family are fine on any subnet, as in Neutron. */
export function validateDnsNameservers(servers: readonly string[]): string[] {
  if (servers.length > MAX_DNS_NAMESERVERS) {
    throw badRequest(`Number of DNS nameservers exceeds the limit ${MAX_DNS_NAMESERVERS}`);
  }
  const normalised = servers.map((s) => {
    const ip = ipInput('dns_nameservers', s);
    return formatIp(ip.version, ip.value);
  });
  if (unique(normalised).length !== normalised.length) throw badRequest('Invalid input for dns_nameservers. Reason: Duplicate nameserver.');
  return normalised;
}

export function validateHostRoutes(cidr: Cidr, routes: readonly { destination: string; nexthop: string }[]) {
  if (routes.length > MAX_HOST_ROUTES) throw badRequest(`Number of host routes exceeds the limit ${MAX_HOST_ROUTES}`);
  const out = routes.map((r) => {
    let destination: Cidr;
    try {
      destination = parseCidr(r.destination);
    } catch {
      throw badRequest(`Invalid input for host_routes. Reason: '${r.destination}' is not a valid IP subnet.`);
    }
    const nexthop = ipInput('host_routes', r.nexthop);
    if (destination.version !== cidr.version || nexthop.version !== cidr.version) {
      throw invalidInput(`Invalid route ${r.destination} via ${r.nexthop}: IP version does not match the subnet's`);
    }
    return { destination: formatCidr(destination), nexthop: formatIp(nexthop.version, nexthop.value) };
  });
  const keys = out.map((r) => `${r.destination}|${r.nexthop}`);
  if (unique(keys).length !== keys.length) throw badRequest('Invalid input for host_routes. Reason: Duplicate hostroute.');
  return out;
}

export function validateServiceTypes(types: readonly string[]): string[] {
  for (const t of types) {
    if (!/^(network|compute|neutron|[a-z0-9_-]+):[\w.:-]*$/i.test(t)) {
      throw invalidInput(`Invalid service type ${JSON.stringify(t)}: expected a device owner such as network:router_gateway or compute:nova`);
    }
  }
  return unique(types);
}

export interface ResolvedSubnetLayout {
  readonly cidr: Cidr;
  readonly gateway: IpAddress | null;
  readonly pools: IpRange[];
}

/** Gateway and pools with Neutron's defaults applied, checked against the cidr and each other. */
export function subnetLayout(
  cidr: Cidr,
  gatewayText: string | null | undefined,
  poolTexts: readonly { start: string; end: string }[] | undefined,
): ResolvedSubnetLayout {
  const gateway = gatewayText === undefined ? defaultGateway(cidr) : gatewayText === null ? null : ipInput('gateway_ip', gatewayText);
  if (gateway !== null) {
    const problems = validateGateway(cidr, gateway);
    const first = problems[0];
    if (first) throw invalidInput(`Gateway is not valid on subnet: ${first.message}`);
  }
  const pools =
    poolTexts === undefined
      ? defaultAllocationPools(cidr, gateway)
      : poolTexts.map((p) => {
          try {
            return parseRange(p.start, p.end);
          } catch (e) {
            throw badRequest(`Invalid input for allocation_pools. Reason: ${e instanceof Error ? e.message : String(e)}.`);
          }
        });
  const problems = validateAllocationPools(cidr, pools, gateway);
  for (const p of problems) {
    switch (p.code) {
      case 'pool_contains_gateway':
        throw conflict('GatewayConflictWithAllocationPools', p.message);
      case 'pools_overlap':
        throw badRequest(p.message);
      case 'pool_out_of_bounds':
        throw badRequest(p.message);
      default:
        throw badRequest(`Invalid allocation pool: ${p.message}`);
    }
  }
  return { cidr, gateway, pools };
}

export const poolsToWire = (pools: readonly IpRange[]) => pools.map(rangeToPool);

/** No overlap with other subnets of the network; one address scope per family. */
export function checkSubnetFitsNetwork(network: NetworkState, networkId: string, subnetId: string, cidr: Cidr, addressScopeId: string | null): void {
  for (const other of network.subnets.values()) {
    if (other.id === subnetId) continue;
    if (cidrsOverlap(other.cidr, cidr)) {
      throw invalidInput(`Requested subnet with cidr: ${formatCidr(cidr)} for network: ${networkId} overlaps with another subnet`);
    }
    if (other.ipVersion === cidr.version && other.addressScopeId !== addressScopeId) {
      throw badRequest(
        `Subnets of one IP version on a network must share an address scope: network ${networkId} has subnet ${other.id} in address scope ${other.addressScopeId ?? 'none'}, the new subnet would be in ${addressScopeId ?? 'none'}.`,
      );
    }
  }
}
