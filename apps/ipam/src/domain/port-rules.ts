import { createHash } from 'node:crypto';
import { cidrContainsIp, eui64Address, formatIp, isUnicastMac, isValidMac, normalizeMac, validateFixedIp, type IpAddress } from '@ncp/netaddr';
import { badRequest, conflict, invalidInput, ipInput } from './rules';
import { ROUTER_INTERFACE_OWNERS, isAutoAddressSubnet, subnetContaining, type NetworkState, type PortFixedIp, type SubnetState } from './network.state';

/** One entry of a port's fixed_ips as a user writes it. */
export interface FixedIpRequest {
  readonly subnetId?: string;
  readonly ipAddress?: string;
}

/**
 * A MAC for a new port: the configured prefix plus bits derived from the port id,
 * probing upwards past MACs already on the network. Deterministic, so the decider
 * stays pure and a replay gives the same answer.
 */
export function generateMac(macPrefix: string, portId: string, taken: ReadonlySet<string>): string {
  const prefix = macPrefix
    .split(':')
    .filter((o) => o !== '')
    .map((o) => parseInt(o, 16));
  if (prefix.length < 1 || prefix.length > 5 || prefix.some((o) => !(o >= 0 && o <= 255))) {
    throw new Error(`invalid MAC prefix ${macPrefix}`);
  }
  const suffixBytes = 6 - prefix.length;
  const space = 1n << BigInt(8 * suffixBytes);
  const digest = createHash('sha256').update(portId).digest();
  let suffix = BigInt(`0x${digest.subarray(0, suffixBytes).toString('hex')}`);
  for (let probe = 0n; probe < space; probe++, suffix = (suffix + 1n) % space) {
    const octets = [...prefix];
    for (let i = suffixBytes - 1; i >= 0; i--) octets.push(Number((suffix >> BigInt(8 * i)) & 0xffn));
    const mac = octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
    if (!taken.has(mac)) return mac;
  }
  throw conflict('MacAddressGenerationFailure', 'Unable to generate unique mac on network.');
}

export function macInput(text: string): string {
  if (!isValidMac(text) || !isUnicastMac(text)) {
    throw badRequest(`Invalid input for mac_address. Reason: '${text}' is not a valid MAC address.`);
  }
  return normalizeMac(text);
}

/** Subnets a port of this owner may draw automatic addresses from (Neutron service types). */
export function eligibleSubnets(network: NetworkState, deviceOwner: string): SubnetState[] {
  const all = [...network.subnets.values()];
  const typed = all.filter((s) => s.serviceTypes.includes(deviceOwner));
  return typed.length > 0 ? typed : all.filter((s) => s.serviceTypes.length === 0);
}

const exhausted = (networkId: string) => conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);

/**
 * Resolves the fixed IPs of a port being created or updated.
 * - `requested` undefined: one IPv4 address (first subnet with room), one address from
 *   the first stateful IPv6 subnet with room, and the EUI-64 address on every
 *   SLAAC / DHCPv6-stateless subnet.
 * - otherwise: the entries as asked (by ip, by subnet, or both), plus the EUI-64 address
 *   on every auto-address subnet not listed (router interfaces excepted).
 * `keep` holds the port's current addresses (update): they are not "in use" by itself.
 */
export function resolveFixedIps(args: {
  network: NetworkState;
  networkId: string;
  macAddress: string;
  deviceOwner: string;
  requested: readonly FixedIpRequest[] | undefined;
  keep?: readonly PortFixedIp[];
}): PortFixedIp[] {
  const { network, networkId, macAddress, deviceOwner, requested, keep = [] } = args;
  const isRouterInterface = ROUTER_INTERFACE_OWNERS.has(deviceOwner);
  const mine = (subnetId: string, ip: bigint) => keep.some((k) => k.subnetId === subnetId && k.ip === ip);
  const taken = (s: SubnetState, ip: bigint) => s.allocator.isAllocated(ip) && !mine(s.id, ip);
  const out: PortFixedIp[] = [];
  const add = (s: SubnetState, ip: bigint) => {
    if (out.some((o) => o.subnetId === s.id && o.ip === ip)) {
      throw badRequest(`Invalid input for fixed_ips. Reason: Duplicate IP address '${formatIp(s.ipVersion, ip)}'.`);
    }
    out.push({ subnetId: s.id, ip });
  };
  const slaac = (s: SubnetState) => eui64Address(s.cidr, macAddress);

  if (requested === undefined) {
    const subnets = eligibleSubnets(network, deviceOwner);
    const v4 = subnets.filter((s) => s.ipVersion === 4);
    const v6Stateful = subnets.filter((s) => s.ipVersion === 6 && !isAutoAddressSubnet(s));
    for (const family of [v4, v6Stateful]) {
      if (family.length === 0) continue;
      const withRoom = family.find((s) => s.allocator.findFree() !== null);
      const ip = withRoom?.allocator.findFree();
      if (!withRoom || ip === undefined || ip === null) throw exhausted(networkId);
      add(withRoom, ip);
    }
    if (!isRouterInterface) {
      for (const s of subnets.filter(isAutoAddressSubnet)) {
        const ip = slaac(s);
        if (taken(s, ip)) throw conflict('IpAddressAlreadyAllocated', `IP address ${formatIp(6, ip)} already allocated in subnet ${s.id}`);
        add(s, ip);
      }
    }
    return out;
  }

  // Addresses handed out while resolving this request must not be handed out twice.
  const pending = new Map<string, Set<bigint>>();
  const nextFree = (s: SubnetState): bigint | null => {
    const skip = pending.get(s.id) ?? new Set<bigint>();
    const keptHere = keep.some((k) => k.subnetId === s.id);
    if (skip.size === 0 && !keptHere) return s.allocator.findFree();
    // The allocator knows only committed addresses; step past the ones this request took.
    const clone = s.allocator.clone();
    for (const k of keep) if (k.subnetId === s.id && clone.isAllocated(k.ip)) clone.release(k.ip);
    for (const ip of skip) if (!clone.isAllocated(ip)) clone.allocate(ip);
    return clone.findFree();
  };
  const claim = (s: SubnetState, ip: bigint) => {
    add(s, ip);
    const set = pending.get(s.id) ?? new Set<bigint>();
    set.add(ip);
    pending.set(s.id, set);
  };

  for (const entry of requested) {
    let subnet: SubnetState | undefined;
    let ip: IpAddress | undefined;
    if (entry.ipAddress !== undefined) ip = ipInput('fixed_ips', entry.ipAddress);
    if (entry.subnetId !== undefined) {
      subnet = network.subnets.get(entry.subnetId);
      if (!subnet) {
        throw invalidInput(`Failed to create port on network ${networkId}, because fixed_ips included invalid subnet ${entry.subnetId}`);
      }
    } else if (ip) {
      subnet = subnetContaining(network, ip);
      if (!subnet) {
        throw badRequest(`IP address ${formatIp(ip.version, ip.value)} is not a valid IP for any of the subnets on the specified network.`);
      }
    } else {
      throw badRequest('Invalid input for fixed_ips. Reason: an entry needs subnet_id, ip_address or both.');
    }
    const auto = isAutoAddressSubnet(subnet);
    if (ip) {
      if (!cidrContainsIp(subnet.cidr, ip)) {
        throw badRequest(`IP address ${formatIp(ip.version, ip.value)} is not a valid IP for the specified subnet.`);
      }
      const problem = validateFixedIp(subnet.cidr, ip, { allowSubnetRouterAnycast: isRouterInterface })[0];
      if (problem) throw badRequest(`IP address ${formatIp(ip.version, ip.value)} is not a valid IP for the specified subnet: ${problem.message}.`);
      if (auto && !isRouterInterface && ip.value !== slaac(subnet) && !mine(subnet.id, ip.value)) {
        throw invalidInput(
          `IPv6 address ${formatIp(6, ip.value)} cannot be directly assigned to a port on subnet ${subnet.id} as the subnet is configured for automatic addresses`,
        );
      }
      if (taken(subnet, ip.value)) {
        throw conflict('IpAddressAlreadyAllocated', `IP address ${formatIp(ip.version, ip.value)} already allocated in subnet ${subnet.id}`);
      }
      claim(subnet, ip.value);
      continue;
    }
    // By subnet only: keep the address the port already has there, else the next free one.
    const kept = keep.find((k) => k.subnetId === subnet.id && !out.some((o) => o.subnetId === subnet.id && o.ip === k.ip));
    if (kept) {
      claim(subnet, kept.ip);
    } else if (auto && !isRouterInterface) {
      claim(subnet, slaac(subnet));
    } else {
      const free = nextFree(subnet);
      if (free === null) throw exhausted(networkId);
      claim(subnet, free);
    }
  }
  if (!isRouterInterface) {
    for (const s of eligibleSubnets(network, deviceOwner).filter(isAutoAddressSubnet)) {
      if (out.some((o) => o.subnetId === s.id)) continue;
      const ip = slaac(s);
      if (taken(s, ip)) throw conflict('IpAddressAlreadyAllocated', `IP address ${formatIp(6, ip)} already allocated in subnet ${s.id}`);
      add(s, ip);
    }
  }
  return out;
}

/** Re-derives EUI-64 addresses after a MAC change. */
export function rekeyAutoAddresses(network: NetworkState, fixedIps: readonly PortFixedIp[], oldMac: string, newMac: string): PortFixedIp[] {
  return fixedIps.map((f) => {
    const s = network.subnets.get(f.subnetId);
    if (!s || !isAutoAddressSubnet(s) || f.ip !== eui64Address(s.cidr, oldMac)) return f;
    return { subnetId: f.subnetId, ip: eui64Address(s.cidr, newMac) };
  });
}
