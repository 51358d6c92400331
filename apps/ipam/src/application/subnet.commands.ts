import { randomUUID } from 'node:crypto';
import { IPAM_REGISTRY_ID, type CommandMetadata } from '@ncp/contracts';
import { formatCidr, type IpAddress } from '@ncp/netaddr';
import { type SubnetUpdate } from '../domain/network.decider';
import { badRequest, canSee, invalidInput, ipInput, notFound, onNetworkTarget, ownedTarget, requirePolicy } from '../domain/rules';
import { type SubnetRequest } from '../domain/subnet-rules';
import { type FollowUps } from './follow-ups';
import { type AggregateLookups } from './lookups';
import { type IpamWriteModel, type Written } from './write-model';

/** A subnet as the API asks for it: a cidr, or a pool (explicit or default) and a length. */
export interface CreateSubnetInput extends Omit<SubnetRequest, 'cidr' | 'subnetPoolId' | 'addressScopeId' | 'ipVersion'> {
  readonly networkId: string;
  readonly projectId: string;
  readonly ipVersion: 4 | 6 | undefined;
  readonly cidr: string | undefined;
  readonly subnetPoolId: string | undefined;
  readonly useDefaultSubnetPool: boolean;
  readonly prefixLength: number | undefined;
}

export class SubnetCommands {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly lookups: AggregateLookups,
    private readonly followUps: FollowUps,
  ) {}

  /**
   * Saga when a pool is involved: take the prefix from the pool, then add the subnet to
   * the network; give the prefix back if the network refuses.
   */
  async create(input: CreateSubnetInput, meta: CommandMetadata, subnetId: string = randomUUID()): Promise<Written> {
    const poolId = await this.poolFor(input);
    if (poolId === null) {
      if (input.cidr === undefined) throw badRequest('a cidr must be specified in the absence of a subnet pool');
      if (input.prefixLength !== undefined) throw badRequest('prefixlen requires a subnetpool_id or use_default_subnetpool');
      const ipVersion = input.ipVersion ?? (input.cidr.includes(':') ? 6 : 4);
      return this.addToNetwork(subnetId, input, { ...input, ipVersion, cidr: input.cidr, subnetPoolId: null, addressScopeId: null }, meta);
    }

    // The network first (the step after would refuse it anyway): the pool's prefix is not
    // taken in the name of a network the caller may not add subnets to.
    const network = (await this.model.networks.load(input.networkId)).state;
    if (!network.exists || !canSee(meta, 'get_network', ownedTarget(network, meta)))
      throw notFound('NetworkNotFound', `Network ${input.networkId} could not be found.`);
    requirePolicy(meta, 'create_subnet', onNetworkTarget(network, { projectId: input.projectId }, meta));
    const pool = (await this.model.pools.load(poolId)).state;
    // Nothing about a pool the caller cannot see, not even its IP version.
    if (!pool.exists || !canSee(meta, 'get_subnetpool', ownedTarget(pool, meta)))
      throw notFound('SubnetPoolNotFound', `Subnet pool ${poolId} could not be found.`);
    if (input.ipVersion !== undefined && input.ipVersion !== pool.ipVersion) {
      throw badRequest(`Cannot allocate IPv${input.ipVersion} subnet from IPv${pool.ipVersion} subnet pool`);
    }
    const allocated = await this.model.pools.execute(
      poolId,
      {
        type: 'AllocatePrefix',
        id: poolId,
        subnetId,
        networkId: input.networkId,
        projectId: input.projectId,
        cidr: input.cidr,
        prefixLength: input.cidr === undefined ? input.prefixLength : undefined,
        mustContain: input.cidr === undefined ? anchors(input) : undefined,
      },
      meta,
    );
    const allocation = allocated.state.allocations.get(subnetId);
    if (!allocation) throw new Error(`allocation for subnet ${subnetId} missing`);
    try {
      return await this.addToNetwork(
        subnetId,
        input,
        {
          ...input,
          ipVersion: allocated.state.ipVersion,
          cidr: formatCidr(allocation.cidr),
          subnetPoolId: poolId,
          addressScopeId: allocated.state.addressScopeId,
        },
        meta,
      );
    } catch (e) {
      await this.followUps.releasePrefix(poolId, subnetId, meta);
      throw e;
    }
  }

  async update(subnetId: string, changes: SubnetUpdate, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const networkId = await this.lookups.networkOfSubnet(subnetId);
    const r = await this.model.networks.execute(networkId, { type: 'UpdateSubnet', id: networkId, subnetId, changes, expectedRevision }, meta);
    return { id: subnetId, sequence: r.sequence };
  }

  async delete(subnetId: string, meta: CommandMetadata): Promise<Written> {
    return this.deleteFrom(await this.lookups.networkOfSubnet(subnetId), subnetId, meta);
  }

  /** Deletes a subnet whose network is known (no projection lookup), releasing its pool prefix. */
  async deleteFrom(networkId: string, subnetId: string, meta: CommandMetadata): Promise<Written> {
    const r = await this.model.networks.execute(networkId, { type: 'DeleteSubnet', id: networkId, subnetId }, meta);
    const data = r.event?.envelope.data;
    let sequence = r.sequence;
    if (data && 'subnetPoolId' in data && data.subnetPoolId) {
      sequence = Math.max(sequence, await this.followUps.releasePrefix(data.subnetPoolId, subnetId, meta));
    }
    return { id: subnetId, sequence };
  }

  private async addToNetwork(subnetId: string, input: CreateSubnetInput, request: SubnetRequest, meta: CommandMetadata): Promise<Written> {
    const r = await this.model.networks.execute(
      input.networkId,
      { type: 'CreateSubnet', id: input.networkId, subnetId, projectId: input.projectId, request },
      meta,
    );
    return { id: subnetId, sequence: r.sequence };
  }

  private async poolFor(input: CreateSubnetInput): Promise<string | null> {
    if (input.subnetPoolId !== undefined) return input.subnetPoolId;
    if (!input.useDefaultSubnetPool) return null;
    if (input.cidr !== undefined) throw badRequest('use_default_subnetpool and cidr are mutually exclusive');
    const version = input.ipVersion ?? 4;
    const registry = (await this.model.registry.load(IPAM_REGISTRY_ID)).state;
    const poolId = registry.defaultPools[version];
    if (!poolId) throw invalidInput(`No default subnetpool found for IPv${version}`);
    return poolId;
  }
}

/** Addresses a pool-allocated prefix must contain: the requested gateway and pool bounds. */
function anchors(input: CreateSubnetInput): IpAddress[] {
  const out: IpAddress[] = [];
  if (typeof input.gatewayIp === 'string') out.push(ipInput('gateway_ip', input.gatewayIp));
  for (const p of input.allocationPools ?? []) out.push(ipInput('allocation_pools', p.start), ipInput('allocation_pools', p.end));
  return out;
}
