import { cidrLast, cidrSize, formatCidr, type Cidr } from './cidr.js';
import { NetaddrError } from './errors.js';
import { formatIp, type IpAddress } from './ip.js';
import { compareBigint, formatRange, subtractRanges, type IpRange } from './range.js';

/*
 * Subnet defaults and checks, following Neutron (neutron/ipam/utils.py generate_pools,
 * ipam_backend_mixin.validate_allocation_pools). Where Neutron contradicts itself the
 * choice made here is noted.
 */

/**
 * The addresses a subnet may hand out to ports.
 * - IPv4 up to /30: all but the network and broadcast addresses.
 * - IPv4 /31 and /32: every address (RFC 3021 point-to-point links have neither).
 * - IPv6: all but the network address (the subnet-router anycast address, RFC 4291 2.6.1);
 *   IPv6 has no broadcast, so the range runs to the last address of the prefix.
 * - IPv6 /128: the single address.
 */
export function usableRange(cidr: Cidr): IpRange {
  const first = cidr.network;
  const last = cidrLast(cidr);
  if (cidr.version === 4) {
    if (cidr.prefixLength >= 31) return { version: 4, first, last };
    return { version: 4, first: first + 1n, last: last - 1n };
  }
  if (first === last) return { version: 6, first, last };
  return { version: 6, first: first + 1n, last };
}

/**
 * Neutron's default gateway: the address after the network address. Returns null for /32 and
 * /128, which have no such address (Neutron would pick an address outside the subnet).
 */
export function defaultGateway(cidr: Cidr): IpAddress | null {
  if (cidrSize(cidr) < 2n) return null;
  return { version: cidr.version, value: cidr.network + 1n };
}

/**
 * Neutron's default allocation pools: the {@link usableRange} minus the gateway, split around
 * it. Examples: 192.168.81.0/26 gw .1 -> [.2-.62]; 10.0.0.0/24 gw .100 -> [.1-.99, .101-.254];
 * IPv4 /31 gw = second address -> [first address]; IPv6 /64 gw ::1 -> [::2 - last].
 * Unlike Neutron, a single-address subnet (/32, /128) whose gateway is that address gets no
 * pool, so the default pools always pass {@link validateAllocationPools}.
 *
 * @throws NetaddrError `version_mismatch` when the gateway's version differs from the cidr's
 */
export function defaultAllocationPools(cidr: Cidr, gateway: IpAddress | null): IpRange[] {
  if (gateway !== null && gateway.version !== cidr.version) {
    throw new NetaddrError('version_mismatch', `gateway ${formatIp(gateway.version, gateway.value)} is not an IPv${cidr.version} address`);
  }
  const holes = gateway === null ? [] : [{ version: gateway.version, first: gateway.value, last: gateway.value }];
  return subtractRanges([usableRange(cidr)], holes);
}

export type SubnetProblemCode =
  | 'gateway_version_mismatch'
  | 'gateway_outside_cidr'
  | 'gateway_is_network_address'
  | 'gateway_is_broadcast_address'
  | 'pool_version_mismatch'
  | 'pool_reversed'
  | 'pool_out_of_bounds'
  | 'pools_overlap'
  | 'pool_contains_gateway'
  | 'ip_version_mismatch'
  | 'ip_outside_cidr'
  | 'ip_is_network_address'
  | 'ip_is_broadcast_address';

/**
 * One reason a subnet definition or fixed IP is invalid. `message` is ready for an API error;
 * `poolIndex`/`otherPoolIndex` point into the pools array that was checked.
 */
export interface SubnetProblem {
  readonly code: SubnetProblemCode;
  readonly message: string;
  readonly poolIndex?: number;
  readonly otherPoolIndex?: number;
}

export interface GatewayCheckOptions {
  /**
   * Neutron accepts a gateway outside the subnet (an off-link router reached through host
   * routes). Default false: such a gateway is reported as `gateway_outside_cidr`.
   */
  readonly allowOutsideCidr?: boolean;
}

/** How an address given for a subnet is named in its problems, and their codes. */
interface AddressRole {
  /** `<versionLabel> version 6 does not match subnet ...` */
  readonly versionLabel: string;
  /** `<label> 10.0.0.1 is not in subnet ...` */
  readonly label: string;
  readonly codes: {
    readonly version: SubnetProblemCode;
    readonly outside: SubnetProblemCode;
    readonly network: SubnetProblemCode;
    readonly broadcast: SubnetProblemCode;
  };
}

const GATEWAY: AddressRole = {
  versionLabel: 'Gateway IP',
  label: 'Gateway IP',
  codes: {
    version: 'gateway_version_mismatch',
    outside: 'gateway_outside_cidr',
    network: 'gateway_is_network_address',
    broadcast: 'gateway_is_broadcast_address',
  },
};

const FIXED_IP: AddressRole = {
  versionLabel: 'IP',
  label: 'IP address',
  codes: { version: 'ip_version_mismatch', outside: 'ip_outside_cidr', network: 'ip_is_network_address', broadcast: 'ip_is_broadcast_address' },
};

/**
 * The first problem of an address given for a subnet, if any: another IP version, outside the
 * cidr, or outside its {@link usableRange}: the IPv4 network or broadcast address (prefixes up
 * to /30), the IPv6 subnet-router anycast address unless `allowSubnetRouterAnycast`.
 */
function addressProblems(cidr: Cidr, address: IpAddress, role: AddressRole, allowSubnetRouterAnycast: boolean): SubnetProblem[] {
  const cidrText = formatCidr(cidr);
  if (address.version !== cidr.version) {
    return [
      {
        code: role.codes.version,
        message: `${role.versionLabel} version ${address.version} does not match subnet ${cidrText} (IPv${cidr.version})`,
      },
    ];
  }
  const named = `${role.label} ${formatIp(address.version, address.value)}`;
  if (address.value < cidr.network || address.value > cidrLast(cidr)) {
    return [{ code: role.codes.outside, message: `${named} is not in subnet ${cidrText}` }];
  }
  const usable = usableRange(cidr);
  if (address.value < usable.first && !(cidr.version === 6 && allowSubnetRouterAnycast)) {
    return [{ code: role.codes.network, message: `${named} is the network address of subnet ${cidrText}` }];
  }
  if (address.value > usable.last) {
    return [{ code: role.codes.broadcast, message: `${named} is the broadcast address of subnet ${cidrText}` }];
  }
  return [];
}

/**
 * Checks a gateway against its subnet: same version, inside the cidr (see options), and for IPv4
 * prefixes up to /30 neither the network nor the broadcast address. For IPv4 /31 and /32 every
 * address is a host address (Neutron's check_gateway_invalid_in_subnet rejects both ends of a
 * /31 although its own generate_pools hands them out; we follow RFC 3021). An IPv6 gateway may
 * be the subnet-router anycast address.
 */
export function validateGateway(cidr: Cidr, gateway: IpAddress, options: GatewayCheckOptions = {}): SubnetProblem[] {
  const problems = addressProblems(cidr, gateway, GATEWAY, true);
  if (options.allowOutsideCidr === true && problems[0]?.code === GATEWAY.codes.outside) return [];
  return problems;
}

/**
 * Checks allocation pools: same version as the cidr, first <= last, inside the
 * {@link usableRange} (so never the IPv4 network/broadcast or the IPv6 subnet-router anycast
 * address), no two overlapping, none containing the gateway. A pool with a version or order
 * problem is left out of the later checks.
 */
export function validateAllocationPools(cidr: Cidr, pools: readonly IpRange[], gateway: IpAddress | null): SubnetProblem[] {
  const problems: SubnetProblem[] = [];
  const cidrText = formatCidr(cidr);
  const usable = usableRange(cidr);
  const checked: number[] = [];
  pools.forEach((pool, poolIndex) => {
    if (pool.version !== cidr.version) {
      problems.push({
        code: 'pool_version_mismatch',
        poolIndex,
        message: `Allocation pool ${poolIndex} is IPv${pool.version} but subnet ${cidrText} is IPv${cidr.version}`,
      });
      return;
    }
    if (pool.first > pool.last) {
      problems.push({
        code: 'pool_reversed',
        poolIndex,
        message: `Allocation pool ${formatIp(pool.version, pool.first)}-${formatIp(pool.version, pool.last)} starts after its end`,
      });
      return;
    }
    if (pool.first < usable.first || pool.last > usable.last) {
      problems.push({
        code: 'pool_out_of_bounds',
        poolIndex,
        message: `The allocation pool ${formatRange(pool)} spans beyond the usable addresses ${formatRange(usable)} of subnet ${cidrText}`,
      });
    }
    if (gateway !== null && gateway.version === pool.version && gateway.value >= pool.first && gateway.value <= pool.last) {
      problems.push({
        code: 'pool_contains_gateway',
        poolIndex,
        message: `Gateway IP ${formatIp(gateway.version, gateway.value)} conflicts with allocation pool ${formatRange(pool)}`,
      });
    }
    checked.push(poolIndex);
  });

  // Sweep in address order, remembering the pool that reaches furthest: any later pool starting
  // at or before that end overlaps it. O(p log p) instead of comparing every pair.
  const byFirst = checked.sort((a, b) => compareBigint(poolAt(pools, a).first, poolAt(pools, b).first) || a - b);
  let reach: number | undefined;
  for (const index of byFirst) {
    const pool = poolAt(pools, index);
    if (reach !== undefined) {
      const reaching = poolAt(pools, reach);
      if (pool.first <= reaching.last) {
        const [poolIndex, otherPoolIndex] = reach < index ? [reach, index] : [index, reach];
        problems.push({
          code: 'pools_overlap',
          poolIndex,
          otherPoolIndex,
          message: `Found overlapping allocation pools: ${formatRange(poolAt(pools, poolIndex))} ${formatRange(poolAt(pools, otherPoolIndex))} for subnet ${cidrText}`,
        });
      }
      if (pool.last <= reaching.last) continue;
    }
    reach = index;
  }
  return problems;
}

function poolAt(pools: readonly IpRange[], index: number): IpRange {
  const pool = pools[index];
  if (pool === undefined) throw new NetaddrError('invalid_argument', `no pool at index ${index}`);
  return pool;
}

export interface SubnetDefinition {
  readonly cidr: Cidr;
  readonly gatewayIp: IpAddress | null;
  readonly allocationPools: readonly IpRange[];
}

/** {@link validateGateway} (when there is a gateway) followed by {@link validateAllocationPools}. */
export function validateSubnet(subnet: SubnetDefinition, options: GatewayCheckOptions = {}): SubnetProblem[] {
  const gatewayProblems = subnet.gatewayIp === null ? [] : validateGateway(subnet.cidr, subnet.gatewayIp, options);
  return [...gatewayProblems, ...validateAllocationPools(subnet.cidr, subnet.allocationPools, subnet.gatewayIp)];
}

export interface FixedIpCheckOptions {
  /**
   * Neutron lets router and DHCP ports take the IPv6 subnet-router anycast (network) address.
   * Default false.
   */
  readonly allowSubnetRouterAnycast?: boolean;
}

/**
 * Checks an address requested for a port (Neutron check_subnet_ip): inside the cidr, and not the
 * IPv4 network/broadcast address (prefixes up to /30) nor the IPv6 network address unless allowed.
 * Addresses outside the allocation pools are fine: pools only steer automatic allocation.
 */
export function validateFixedIp(cidr: Cidr, ip: IpAddress, options: FixedIpCheckOptions = {}): SubnetProblem[] {
  return addressProblems(cidr, ip, FIXED_IP, options.allowSubnetRouterAnycast === true);
}
