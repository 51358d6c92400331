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

/**
 * Checks a gateway against its subnet: same version, inside the cidr (see options), and for IPv4
 * prefixes up to /30 neither the network nor the broadcast address. For IPv4 /31 and /32 every
 * address is a host address (Neutron's check_gateway_invalid_in_subnet rejects both ends of a
 * /31 although its own generate_pools hands them out; we follow RFC 3021).
 */
export function validateGateway(cidr: Cidr, gateway: IpAddress, options: GatewayCheckOptions = {}): SubnetProblem[] {
  const cidrText = formatCidr(cidr);
  if (gateway.version !== cidr.version) {
    return [
      {
        code: 'gateway_version_mismatch',
        message: `Gateway IP version ${gateway.version} does not match subnet ${cidrText} (IPv${cidr.version})`,
      },
    ];
  }
  const gwText = formatIp(gateway.version, gateway.value);
  if (gateway.value < cidr.network || gateway.value > cidrLast(cidr)) {
    if (options.allowOutsideCidr === true) return [];
    return [{ code: 'gateway_outside_cidr', message: `Gateway IP ${gwText} is not in subnet ${cidrText}` }];
  }
  if (cidr.version === 4 && cidr.prefixLength <= 30) {
    if (gateway.value === cidr.network) {
      return [
        {
          code: 'gateway_is_network_address',
          message: `Gateway IP ${gwText} is the network address of subnet ${cidrText}`,
        },
      ];
    }
    if (gateway.value === cidrLast(cidr)) {
      return [
        {
          code: 'gateway_is_broadcast_address',
          message: `Gateway IP ${gwText} is the broadcast address of subnet ${cidrText}`,
        },
      ];
    }
  }
  return [];
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
  const cidrText = formatCidr(cidr);
  if (ip.version !== cidr.version) {
    return [
      {
        code: 'ip_version_mismatch',
        message: `IP version ${ip.version} does not match subnet ${cidrText} (IPv${cidr.version})`,
      },
    ];
  }
  const ipText = formatIp(ip.version, ip.value);
  if (ip.value < cidr.network || ip.value > cidrLast(cidr)) {
    return [{ code: 'ip_outside_cidr', message: `IP address ${ipText} is not in subnet ${cidrText}` }];
  }
  const usable = usableRange(cidr);
  if (ip.value < usable.first && !(cidr.version === 6 && options.allowSubnetRouterAnycast === true)) {
    return [
      {
        code: 'ip_is_network_address',
        message: `IP address ${ipText} is the network address of subnet ${cidrText}`,
      },
    ];
  }
  if (ip.value > usable.last) {
    return [
      {
        code: 'ip_is_broadcast_address',
        message: `IP address ${ipText} is the broadcast address of subnet ${cidrText}`,
      },
    ];
  }
  return [];
}
