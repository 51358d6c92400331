import { isDomainError, type CommandMetadata } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { asService, type IpamPorts, type L3WriteModel } from './write-model';

/** Neutron's HA network: a VXLAN network (it spans rows) with one link-local subnet, no gateway, no DHCP. */
export const HA_NETWORK_TYPE = 'vxlan';
export const HA_SUBNET_CIDR = '169.254.192.0/18';
export const haNetworkName = (projectId: string) => `HA network tenant ${projectId}`;
export const haSubnetName = (projectId: string) => `HA subnet tenant ${projectId}`;

/** Where an HA router runs VRRP: its project's HA network and its VRID there. */
export interface HaPlacement {
  readonly networkId: string;
  readonly vrid: number;
}

/**
 * The projects' HA networks, made in IPAM when a project's first HA router needs one. Two
 * routers placed at once may both make one: the hanetwork aggregate keeps the first claim,
 * and the other deletes its own and uses that one.
 */
export class HaNetworks {
  constructor(
    private readonly model: L3WriteModel,
    private readonly ipam: IpamPorts,
    private readonly logger: Logger,
  ) {}

  /** The project's HA network (made and claimed on first need) and the router's VRID on it. */
  async ensure(projectId: string, routerId: string, meta: CommandMetadata): Promise<HaPlacement> {
    const service = asService(meta);
    if ((await this.model.haNetworks.load(projectId)).state.networkId === null) await this.makeAndClaim(projectId, service);
    const r = await this.model.haNetworks.execute(projectId, { type: 'AllocateVrid', routerId }, service);
    const vrid = r.state.vrids.get(routerId);
    if (r.state.networkId === null || vrid === undefined) throw new Error(`router ${routerId}: no VRID after its allocation`);
    return { networkId: r.state.networkId, vrid };
  }

  /** Idempotent: the router (deleted, or no longer HA) gives its VRID back. */
  async release(projectId: string, routerId: string, meta: CommandMetadata): Promise<void> {
    await this.model.haNetworks.execute(projectId, { type: 'ReleaseVrid', routerId }, asService(meta));
  }

  private async makeAndClaim(projectId: string, meta: CommandMetadata): Promise<void> {
    // of no project: the tenant never sees it (Neutron's tenant_id ''), nor counts it in its quota
    const network = await this.ipam.createNetwork(
      { name: haNetworkName(projectId), project_id: '', 'provider:network_type': HA_NETWORK_TYPE, shared: false, admin_state_up: true },
      meta,
    );
    try {
      await this.ipam.createSubnet(
        { network_id: network.id, project_id: '', name: haSubnetName(projectId), ip_version: 4, cidr: HA_SUBNET_CIDR, gateway_ip: null, enable_dhcp: false },
        meta,
      );
      await this.model.haNetworks.execute(projectId, { type: 'ClaimHaNetwork', networkId: network.id }, meta);
    } catch (e) {
      await this.ipam.deleteNetwork(network.id, meta).catch((err: unknown) => {
        this.logger.error({ err, networkId: network.id }, 'could not delete an HA network not kept');
      });
      // another placement claimed first: its network is the project's
      if (isDomainError(e) && e.code === 'L3.HaNetworkExists') return;
      throw e;
    }
  }
}
