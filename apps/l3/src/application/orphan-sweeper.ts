import { L3_REGISTRY_ID, isDomainError, serviceMeta, type CommandMetadata } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { claimKey } from '../domain/registry.decider';
import { type L3Prisma } from '../infrastructure/prisma';
import { type FloatingIpCommands, type Touched } from './floating-ip.commands';
import { HA_PORT_OWNER } from './placement';
import { asService, type IpamPorts, type L3WriteModel } from './write-model';

export interface L3SweepReport {
  /** router and floating IP ports removed from IPAM (or given back to their owner) */
  readonly ports: number;
  /** floating IPs whose claims and router records were brought in line with them */
  readonly floatingIps: number;
  /** HA networks let go with their last HA router and deleted in IPAM here */
  readonly haNetworks: number;
}

interface PortCandidate {
  readonly id: string;
  readonly device_owner: string;
  readonly device_id: string;
  readonly created_by_l3: boolean;
}

/**
 * Finishes L3's sagas a crash (or an IPAM that did not answer) interrupted, as IPAM's
 * sweeper finishes its own:
 * - router gateway, router interface and floating IP ports in IPAM that no router or
 *   floating IP holds are removed (a port someone brought as a router interface is given
 *   back to them instead), so they stop holding addresses;
 * - fixed address claims and router records of floating IPs are settled from the floating
 *   IP's own state (a floating IP on a port that is gone lets it go).
 * Candidates come from the projection; one is acted on once it has stayed orphaned for the
 * grace period (sagas still running are left alone), and only after the owning aggregate,
 * read fresh from the stream, confirms it.
 */
export class L3OrphanSweeper {
  /** candidate -> when this sweeper first saw it orphaned (ms) */
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly prisma: L3Prisma,
    private readonly model: L3WriteModel,
    private readonly floatingIps: Pick<FloatingIpCommands, 'settle'>,
    private readonly ipam: IpamPorts,
    private readonly graceSeconds: number,
    private readonly logger: Logger,
  ) {}

  async sweep(now: Date): Promise<L3SweepReport> {
    const meta = serviceMeta('l3:orphan-sweeper', now);
    const seen = new Set<string>();
    const due = (key: string): boolean => {
      seen.add(key);
      const first = this.firstSeen.get(key) ?? now.getTime();
      this.firstSeen.set(key, first);
      return now.getTime() - first >= this.graceSeconds * 1000;
    };
    const report = {
      ports: await this.sweepPorts(due, meta),
      floatingIps: await this.sweepFloatingIps(due, meta),
      haNetworks: await this.sweepHaNetworks(due, meta),
    };
    for (const key of this.firstSeen.keys()) if (!seen.has(key)) this.firstSeen.delete(key);
    if (report.ports > 0 || report.floatingIps > 0 || report.haNetworks > 0) this.logger.warn({ report }, 'finished interrupted L3 sagas');
    return report;
  }

  private async sweepPorts(due: (key: string) => boolean, meta: CommandMetadata): Promise<number> {
    const candidates = await this.prisma.$queryRaw<PortCandidate[]>`
      SELECT p.id, p.device_owner, p.device_id, p.created_by_l3 FROM ipam_ports p
      WHERE (p.device_owner = 'network:router_gateway'
             AND NOT EXISTS (SELECT 1 FROM routers r WHERE r.id = p.device_id AND r.gateway_port_id = p.id))
         OR (p.device_owner = 'network:router_interface'
             AND NOT EXISTS (SELECT 1 FROM router_interfaces i WHERE i.port_id = p.id AND i.router_id = p.device_id))
         OR (p.device_owner = 'network:floatingip'
             AND NOT EXISTS (SELECT 1 FROM floating_ips f WHERE f.id = p.device_id AND f.floating_port_id = p.id))
         OR (p.device_owner = ${HA_PORT_OWNER}
             AND NOT EXISTS (SELECT 1 FROM router_ha_hosts h WHERE h.ha_port_id = p.id AND h.router_id = p.device_id))`;
    let done = 0;
    for (const port of candidates) {
      const userPort = !port.created_by_l3 && port.device_owner === 'network:router_interface';
      if (!(port.created_by_l3 || userPort) || !due(`port:${port.id}`)) continue;
      try {
        if (await this.held(port)) continue;
        if (userPort) await this.ipam.updatePort(port.id, { device_owner: '', device_id: '' }, asService(meta));
        else await this.ipam.deletePort(port.id, asService(meta));
        done++;
      } catch (err) {
        if (isDomainError(err) && err.kind === 'not_found') continue; // gone meanwhile
        this.logger.error({ err, portId: port.id }, 'could not remove an orphaned L3 port; will retry');
      }
    }
    return done;
  }

  /**
   * An HA network its project let go (its last HA router went) that IPAM still has: the
   * release's own deletion failed (IPAM down, or HA ports not deleted yet: the port sweep
   * removes them first). Deleted once that has lasted the grace period. (The released ones
   * stay listed, as a rebuild of the projection lists them: one per project that had HA routers.)
   */
  private async sweepHaNetworks(due: (key: string) => boolean, meta: CommandMetadata): Promise<number> {
    const released = await this.prisma.releasedHaNetwork.findMany();
    const present = new Set(
      (await this.prisma.ipamNetwork.findMany({ where: { id: { in: released.map((r) => r.networkId) } }, select: { id: true } })).map((n) => n.id),
    );
    let done = 0;
    for (const { networkId, projectId } of released) {
      if (!present.has(networkId) || !due(`hanetwork:${networkId}`)) continue;
      // read fresh: a network the project holds is never deleted
      if ((await this.model.haNetworks.load(projectId)).state.networkId === networkId) continue;
      try {
        await this.ipam.deleteNetwork(networkId, asService(meta));
        done++;
      } catch (err) {
        if (isDomainError(err) && err.kind === 'not_found') continue;
        this.logger.error({ err, networkId }, 'could not delete a released HA network; will retry');
      }
    }
    return done;
  }

  /** Whether the router or floating IP the port names holds it after all (the projection lagged). */
  private async held(port: PortCandidate): Promise<boolean> {
    if (port.device_id === '') return false;
    if (port.device_owner === 'network:floatingip') {
      const fip = (await this.model.floatingIps.load(port.device_id)).state;
      return fip.exists && fip.floatingPortId === port.id;
    }
    const router = (await this.model.routers.load(port.device_id)).state;
    if (!router.exists) return false;
    // an HA port a placement made and did not record (it crashed, or lost to another one)
    if (port.device_owner === HA_PORT_OWNER) return router.haPlacement?.hosts.some((h) => h.haPortId === port.id) ?? false;
    return port.device_owner === 'network:router_gateway' ? router.gateway?.portId === port.id : router.interfaces.has(port.id);
  }

  private async sweepFloatingIps(due: (key: string) => boolean, meta: CommandMetadata): Promise<number> {
    const [registry, fips, records] = await Promise.all([
      this.model.registry.load(L3_REGISTRY_ID).then((r) => r.state),
      this.prisma.floatingIp.findMany({ select: { id: true, portId: true, fixedIpAddress: true, routerId: true } }),
      this.prisma.routerFloatingIp.findMany(),
    ]);
    const byId = new Map(fips.map((f) => [f.id, f]));
    const work = new Map<string, { claims: Touched['claims'][number][]; routers: string[] }>();
    const touch = (fipId: string) => {
      const w = work.get(fipId) ?? { claims: [], routers: [] };
      work.set(fipId, w);
      return w;
    };
    // Claims the floating IP does not hold.
    for (const [key, fipId] of registry.claims) {
      const f = byId.get(fipId);
      if (f !== undefined && f.portId !== null && f.fixedIpAddress !== null && claimKey(f.portId, f.fixedIpAddress) === key) continue;
      const sep = key.indexOf('|');
      touch(fipId).claims.push({ portId: key.slice(0, sep), fixedIpAddress: key.slice(sep + 1) });
    }
    // Router records the floating IP does not match.
    for (const r of records) {
      const f = byId.get(r.floatingIpId);
      if (f?.routerId === r.routerId && f.fixedIpAddress === r.fixedIpAddress) continue;
      touch(r.floatingIpId).routers.push(r.routerId);
    }
    // Associations without their claim or router record (a port that is gone shows up as a
    // claim its floating IP no longer has here; settling lets it go).
    const recorded = new Set(records.map((r) => `${r.floatingIpId}|${r.routerId}`));
    for (const f of fips) {
      if (f.portId === null || f.fixedIpAddress === null) continue;
      if (registry.claims.get(claimKey(f.portId, f.fixedIpAddress)) !== f.id) touch(f.id).claims.push({ portId: f.portId, fixedIpAddress: f.fixedIpAddress });
      if (f.routerId !== null && !recorded.has(`${f.id}|${f.routerId}`)) touch(f.id).routers.push(f.routerId);
    }
    let done = 0;
    for (const [fipId, w] of work) {
      if (!due(`fip:${fipId}`)) continue;
      try {
        await this.floatingIps.settle(fipId, w, meta);
        done++;
      } catch (err) {
        this.logger.error({ err, floatingIpId: fipId }, 'could not settle a floating IP; will retry');
      }
    }
    return done;
  }
}
