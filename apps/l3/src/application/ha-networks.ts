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

  /**
   * The project's HA network (made and claimed on first need) and the router's VRID on it. A
   * network released between the two (its last router went) is made again.
   */
  async ensure(projectId: string, routerId: string, meta: CommandMetadata): Promise<HaPlacement> {
    const service = asService(meta);
    for (let attempt = 1; ; attempt++) {
      if ((await this.model.haNetworks.load(projectId)).state.networkId === null) await this.makeAndClaim(projectId, service);
      try {
        const r = await this.model.haNetworks.execute(projectId, { type: 'AllocateVrid', routerId }, service);
        const vrid = r.state.vrids.get(routerId);
        if (r.state.networkId === null || vrid === undefined) throw new Error(`router ${routerId}: no VRID after its allocation`);
        return { networkId: r.state.networkId, vrid };
      } catch (e) {
        if (!(isDomainError(e) && e.code === 'L3.HaNetworkMissing') || attempt >= 3) throw e;
      }
    }
  }

  /**
   * Idempotent: the router (deleted, or no longer HA) gives its VRID back; with the project's
   * last one the HA network goes too (Neutron deletes it with the last HA router), once the
   * hanetwork aggregate let it go: a router placed meanwhile keeps it.
   */
  async release(projectId: string, routerId: string, meta: CommandMetadata): Promise<void> {
    const service = asService(meta);
    const after = (await this.model.haNetworks.execute(projectId, { type: 'ReleaseVrid', routerId }, service)).state;
    const networkId = after.networkId;
    if (networkId === null || after.vrids.size > 0) return;
    // the one whose command let it go deletes it (a router placed meanwhile kept it)
    const released = await this.model.haNetworks.execute(projectId, { type: 'ReleaseHaNetwork', networkId }, service);
    if (released.event === null) return;
    await this.ipam.deleteNetwork(networkId, service).catch((err: unknown) => {
      if (isDomainError(err) && err.kind === 'not_found') return;
      this.logger.error({ err, networkId, projectId }, 'could not delete the HA network let go with its last HA router');
    });
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
