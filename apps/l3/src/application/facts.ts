import { cidrContainsIp, parseCidr, parseIp } from '@ncp/netaddr';
import { badRequest, notFound } from '../domain/rules';
import { type L3Prisma } from '../infrastructure/prisma';

export interface FixedIp {
  subnetId: string;
  ipAddress: string;
}

/**
 * What L3 reads about IPAM's world, from its own copy (the mirror projection of IPAM's
 * events): never from IPAM's tables.
 */
export class IpamFacts {
  constructor(private readonly prisma: L3Prisma) {}

  async externalNetwork(networkId: string) {
    const n = await this.prisma.ipamNetwork.findUnique({ where: { id: networkId } });
    if (!n) throw notFound('NetworkNotFound', `Network ${networkId} could not be found.`);
    if (!n.external) throw badRequest(`Bad router request: Network ${networkId} is not a valid external network.`);
    return n;
  }

  async subnet(subnetId: string) {
    const s = await this.prisma.ipamSubnet.findUnique({ where: { id: subnetId } });
    if (!s) throw notFound('SubnetNotFound', `Subnet ${subnetId} could not be found.`);
    return s;
  }

  async subnets(ids: readonly string[]) {
    return this.prisma.ipamSubnet.findMany({ where: { id: { in: [...ids] } } });
  }

  async subnetsOfNetwork(networkId: string) {
    return this.prisma.ipamSubnet.findMany({ where: { networkId }, orderBy: { id: 'asc' } });
  }

  async port(portId: string) {
    const p = await this.prisma.ipamPort.findUnique({ where: { id: portId } });
    if (!p) throw notFound('PortNotFound', `Port ${portId} could not be found.`);
    return { ...p, fixedIps: p.fixedIps as unknown as FixedIp[] };
  }

  /** The subnet CIDRs of a port's addresses, for the router's overlap and nexthop checks. */
  async attachedSubnets(fixedIps: readonly FixedIp[]): Promise<{ subnetId: string; cidr: string }[]> {
    const subnets = await this.subnets(fixedIps.map((f) => f.subnetId));
    return [...new Set(fixedIps.map((f) => f.subnetId))].map((id) => {
      const s = subnets.find((x) => x.id === id);
      if (!s) throw notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
      return { subnetId: id, cidr: s.cidr };
    });
  }
}

export function ipInCidr(ip: string, cidr: string): boolean {
  const a = parseIp(ip);
  const c = parseCidr(cidr);
  return a.version === c.version && cidrContainsIp(c, a);
}
