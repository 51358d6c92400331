import { authorize, rbacGrants, type CommandMetadata, type RbacAction, type RbacEntry } from '@ncp/contracts';
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

  /**
   * A network the caller may use as external (a router's gateway, floating IPs), as Neutron
   * decides it: one the caller sees (its own, or shared with or external for it by an RBAC
   * entry) that some entry makes external.
   */
  async externalNetwork(networkId: string, meta: CommandMetadata) {
    const n = await this.prisma.ipamNetwork.findUnique({ where: { id: networkId } });
    const entries = n ? await this.entriesOf(networkId) : [];
    if (!n || !authorize('get_network', meta, { projectId: n.projectId, ...this.grants(entries, meta) })) {
      throw notFound('NetworkNotFound', `Network ${networkId} could not be found.`);
    }
    if (!entries.some((e) => e.action === 'access_as_external')) throw badRequest(`Bad router request: Network ${networkId} is not a valid external network.`);
    return n;
  }

  private async entriesOf(networkId: string): Promise<RbacEntry[]> {
    const rows = await this.prisma.ipamNetworkRbac.findMany({ where: { networkId } });
    return rows.map((r) => ({ id: r.id, action: r.action as RbacAction, targetProject: r.targetProject, projectId: '' }));
  }

  private grants(entries: readonly RbacEntry[], meta: CommandMetadata) {
    return {
      sharedWithCaller: rbacGrants(entries, 'access_as_shared', meta.projectId),
      externalForCaller: rbacGrants(entries, 'access_as_external', meta.projectId),
    };
  }

  async subnet(subnetId: string) {
    const s = await this.prisma.ipamSubnet.findUnique({ where: { id: subnetId } });
    if (!s) throw notFound('SubnetNotFound', `Subnet ${subnetId} could not be found.`);
    return s;
  }

  /**
   * A subnet a router may be attached to by the caller (Neutron's add_router_interface by
   * subnet): one the caller cannot see is not found, whatever exists; one it sees only
   * because its network is shared belongs to another project, whose gateway address it
   * may not take. Admins may use any.
   */
  async subnetForInterface(subnetId: string, meta: CommandMetadata) {
    const missing = () => notFound('SubnetNotFound', `Subnet ${subnetId} could not be found.`);
    const s = await this.prisma.ipamSubnet.findUnique({ where: { id: subnetId } });
    if (!s) throw missing();
    if (meta.isAdmin || s.projectId === meta.projectId) return s;
    if (!this.grants(await this.entriesOf(s.networkId), meta).sharedWithCaller) throw missing();
    throw badRequest(`Bad router request: Cannot add interface to router because subnet ${subnetId} is not owned by project making the request.`);
  }

  /**
   * A port a router may take as its interface (add_router_interface by port): the caller's
   * own (any for an admin), else not found; on a subnet of another project (a shared
   * network) it may not hold that subnet's gateway address.
   */
  async portForInterface(portId: string, meta: CommandMetadata) {
    const p = await this.prisma.ipamPort.findUnique({ where: { id: portId } });
    if (!p || !(meta.isAdmin || p.projectId === meta.projectId)) throw notFound('PortNotFound', `Port ${portId} could not be found.`);
    const fixedIps = p.fixedIps as unknown as FixedIp[];
    if (!meta.isAdmin) {
      const subnets = await this.subnets(fixedIps.map((f) => f.subnetId));
      for (const f of fixedIps) {
        const s = subnets.find((x) => x.id === f.subnetId);
        if (s && s.projectId !== meta.projectId && s.gatewayIp === f.ipAddress) {
          throw badRequest(
            `Bad router request: Cannot add interface to router because the router port IP ${f.ipAddress} is not within the allocation pool of subnet ${s.id}, which belongs to another project.`,
          );
        }
      }
    }
    return { ...p, fixedIps };
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
