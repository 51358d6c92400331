import { randomUUID } from 'node:crypto';
import { type CommandMetadata } from '@ncp/contracts';
import { floatingIpsToLetGoBeforeDelete, type NetworkAttributes } from '../domain/network.decider';
import { type SegmentRequest } from '../domain/registry.decider';
import { type FollowUps } from './follow-ups';
import { type IpamWriteModel, type Written } from './write-model';

export interface CreateNetworkInput {
  readonly projectId: string;
  readonly attributes: NetworkAttributes;
  readonly mtu?: number;
  readonly segment: SegmentRequest;
}

/** L3's part in a network's deletion, over its command API. */
export interface FloatingIpOwner {
  /** Deletes the floating IPs on the network that no port is associated with, and their ports. */
  deleteUnassociatedOn(networkId: string, meta: CommandMetadata): Promise<unknown>;
}

export class NetworkCommands {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly followUps: FollowUps,
    private readonly floatingIps: FloatingIpOwner,
  ) {}

  /** Saga: reserve the segment in the registry, then create the network; undo on failure. */
  async create(input: CreateNetworkInput, meta: CommandMetadata, id: string = randomUUID()): Promise<Written> {
    const reserved = await this.model.registryCommand(
      { type: 'ReserveSegment', networkId: id, request: input.segment, policy: this.model.policies.segments },
      meta,
    );
    const segment = reserved.state.segments.get(id);
    if (!segment) throw new Error(`segment for ${id} missing after reservation`);
    try {
      const r = await this.model.networks.execute(
        id,
        { type: 'CreateNetwork', id, projectId: input.projectId, attributes: input.attributes, mtu: input.mtu, segment, mtuPolicy: this.model.policies.mtu },
        meta,
      );
      return { id, sequence: r.sequence };
    } catch (e) {
      await this.followUps.releaseSegment(id, meta);
      throw e;
    }
  }

  async update(
    id: string,
    changes: Partial<NetworkAttributes> & { mtu?: number },
    expectedRevision: number | undefined,
    meta: CommandMetadata,
  ): Promise<Written> {
    const r = await this.model.networks.execute(id, { type: 'UpdateNetwork', id, changes, expectedRevision, mtuPolicy: this.model.policies.mtu }, meta);
    return { id, sequence: r.sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    // Only a caller who may delete the network gets its floating IPs deleted; the associated
    // ones stay and the network is refused as in use.
    if (floatingIpsToLetGoBeforeDelete((await this.model.networks.load(id)).state, meta)) await this.floatingIps.deleteUnassociatedOn(id, meta);
    const r = await this.model.networks.execute(id, { type: 'DeleteNetwork', id }, meta);
    let sequence = r.sequence;
    const deleted = r.event?.envelope.data;
    if (deleted && 'subnets' in deleted) {
      // Follow-ups; the orphan sweeper finishes them if this process dies first.
      for (const s of deleted.subnets) {
        if (s.subnetPoolId) sequence = Math.max(sequence, await this.followUps.releasePrefix(s.subnetPoolId, s.subnetId, meta));
      }
    }
    sequence = Math.max(sequence, await this.followUps.releaseSegment(id, meta));
    return { id, sequence };
  }
}
