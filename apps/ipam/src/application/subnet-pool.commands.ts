import { randomUUID } from 'node:crypto';
import { type CommandMetadata } from '@ncp/contracts';
import { formatCidr } from '@ncp/netaddr';
import { cidrInput, mayChange, notFound, ownedTarget } from '../domain/rules';
import { compactPrefixes, type SubnetPoolAttributes, type SubnetPoolState, type SubnetPoolUpdate } from '../domain/subnet-pool.decider';
import { type FollowUps } from './follow-ups';
import { systemMeta, type IpamWriteModel, type Written } from './write-model';

/**
 * Subnet pools touch up to three aggregates: the address scope holds their prefixes
 * (claimed before the pool grows, released after it shrinks), the registry holds the
 * default-pool mark (claimed before, released after), and the pool itself.
 */
export class SubnetPoolCommands {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly followUps: FollowUps,
  ) {}

  async create(
    input: { projectId: string; prefixes: readonly string[]; attributes: SubnetPoolAttributes },
    meta: CommandMetadata,
    id: string = randomUUID(),
  ): Promise<Written> {
    const prefixes = compactPrefixes(input.prefixes.map((p) => cidrInput('prefixes', p)));
    const ipVersion = prefixes[0]?.version ?? 4;
    const undo: (() => Promise<number>)[] = [];
    try {
      const scopeId = input.attributes.addressScopeId;
      if (scopeId !== null) {
        await this.claim(scopeId, id, ipVersion, prefixes.map(formatCidr), meta);
        undo.push(() => this.followUps.syncScopeClaims(scopeId, id, meta));
      }
      if (input.attributes.isDefault) {
        await this.model.registryCommand({ type: 'ClaimDefaultSubnetPool', ipVersion, subnetPoolId: id }, meta);
        undo.push(() => this.followUps.releaseDefaultPool(ipVersion, id, meta));
      }
      const r = await this.model.pools.execute(
        id,
        { type: 'CreateSubnetPool', id, projectId: input.projectId, prefixes: input.prefixes, attributes: input.attributes },
        meta,
      );
      return { id, sequence: r.sequence };
    } catch (e) {
      for (const step of undo.reverse()) await step();
      throw e;
    }
  }

  async update(id: string, changes: SubnetPoolUpdate, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const before = await this.ownPool(id, 'update_subnetpool', meta);
    const scopeId = changes.addressScopeId !== undefined ? changes.addressScopeId : before.addressScopeId;
    const undo: (() => Promise<number>)[] = [];
    try {
      if (before.exists && scopeId !== null) {
        const prefixes = changes.prefixes ?? before.prefixes.map(formatCidr);
        await this.claim(scopeId, id, before.ipVersion, prefixes, meta);
        undo.push(() => this.followUps.syncScopeClaims(scopeId, id, meta));
      }
      if (before.exists && changes.isDefault === true && !before.isDefault) {
        await this.model.registryCommand({ type: 'ClaimDefaultSubnetPool', ipVersion: before.ipVersion, subnetPoolId: id }, meta);
        undo.push(() => this.followUps.releaseDefaultPool(before.ipVersion, id, meta));
      }
      const r = await this.model.pools.execute(id, { type: 'UpdateSubnetPool', id, changes, expectedRevision }, meta);
      let sequence = r.sequence;
      if (before.addressScopeId !== null && before.addressScopeId !== scopeId) {
        sequence = Math.max(sequence, await this.followUps.syncScopeClaims(before.addressScopeId, id, meta));
      }
      if (scopeId !== null) sequence = Math.max(sequence, await this.followUps.syncScopeClaims(scopeId, id, meta));
      if (changes.isDefault === false && before.isDefault) {
        sequence = Math.max(sequence, await this.followUps.releaseDefaultPool(before.ipVersion, id, meta));
      }
      return { id, sequence };
    } catch (e) {
      for (const step of undo.reverse()) await step();
      throw e;
    }
  }

  async addPrefixes(id: string, prefixes: readonly string[], meta: CommandMetadata): Promise<Written> {
    const pool = await this.ownPool(id, 'add_prefixes', meta);
    const scopeId = pool.exists ? pool.addressScopeId : null;
    if (scopeId !== null) await this.claim(scopeId, id, pool.ipVersion, prefixes, meta);
    try {
      const r = await this.model.pools.execute(id, { type: 'AddPrefixes', id, prefixes }, meta);
      return { id, sequence: r.sequence };
    } catch (e) {
      if (scopeId !== null) await this.followUps.syncScopeClaims(scopeId, id, meta);
      throw e;
    }
  }

  async removePrefixes(id: string, prefixes: readonly string[], meta: CommandMetadata): Promise<Written> {
    const r = await this.model.pools.execute(id, { type: 'RemovePrefixes', id, prefixes }, meta);
    let sequence = r.sequence;
    const scopeId = r.state.addressScopeId;
    if (scopeId !== null) {
      // The remaining prefixes may be split differently than the claims were: claim the
      // new shapes before releasing the old ones, so the space is never unguarded.
      sequence = Math.max(sequence, await this.claimQuietly(scopeId, id, r.state.ipVersion, r.state.prefixes.map(formatCidr), meta));
      sequence = Math.max(sequence, await this.followUps.syncScopeClaims(scopeId, id, meta));
    }
    return { id, sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const before = (await this.model.pools.load(id)).state;
    const r = await this.model.pools.execute(id, { type: 'DeleteSubnetPool', id }, meta);
    let sequence = r.sequence;
    if (before.addressScopeId !== null) sequence = Math.max(sequence, await this.followUps.syncScopeClaims(before.addressScopeId, id, meta));
    if (before.isDefault) sequence = Math.max(sequence, await this.followUps.releaseDefaultPool(before.ipVersion, id, meta));
    return { id, sequence };
  }

  /**
   * The pool if the caller may change it, else a 404 naming only the pool: checked before any
   * step on its address scope, whose refusal would name the scope of another project's pool.
   */
  private async ownPool(id: string, action: 'update_subnetpool' | 'add_prefixes', meta: CommandMetadata): Promise<SubnetPoolState> {
    const pool = (await this.model.pools.load(id)).state;
    const missing = () => notFound('SubnetPoolNotFound', `Subnet pool ${id} could not be found.`);
    if (!pool.exists) throw missing();
    mayChange(meta, 'get_subnetpool', action, ownedTarget(pool, meta), missing);
    return pool;
  }

  private async claim(scopeId: string, poolId: string, ipVersion: 4 | 6, prefixes: readonly string[], meta: CommandMetadata): Promise<number> {
    const r = await this.model.scopes.execute(scopeId, { type: 'ClaimPrefixes', id: scopeId, subnetPoolId: poolId, ipVersion, prefixes }, meta);
    return r.event ? r.sequence : 0;
  }

  private async claimQuietly(scopeId: string, poolId: string, ipVersion: 4 | 6, prefixes: readonly string[], meta: CommandMetadata): Promise<number> {
    // Only ever a subset of what the pool already held, so it cannot clash with others.
    return this.claim(scopeId, poolId, ipVersion, prefixes, systemMeta(meta));
  }
}
