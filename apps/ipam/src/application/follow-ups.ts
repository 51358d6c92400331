import { type CommandMetadata } from '@ncp/contracts';
import { type Logger } from '@ncp/nest-common';
import { cidrContainsCidr, formatCidr } from '@ncp/netaddr';
import { systemMeta, type IpamWriteModel } from './write-model';

/**
 * Steps that finish or undo a saga in another aggregate: releasing a segment, a pool
 * prefix, scope claims, a default-pool mark. Each is idempotent and best effort here;
 * the orphan sweeper completes what a crash interrupted. Each returns the sequence it
 * appended (0 when there was nothing to do or it failed).
 */
export class FollowUps {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly logger: Logger,
  ) {}

  releaseSegment(networkId: string, meta: CommandMetadata): Promise<number> {
    return this.attempt('segment release', { networkId }, () => this.model.registryCommand({ type: 'ReleaseSegment', networkId }, systemMeta(meta)));
  }

  releasePrefix(poolId: string, subnetId: string, meta: CommandMetadata): Promise<number> {
    return this.attempt('prefix release', { poolId, subnetId }, () =>
      this.model.pools.execute(poolId, { type: 'ReleasePrefix', id: poolId, subnetId }, systemMeta(meta)),
    );
  }

  releaseDefaultPool(ipVersion: 4 | 6, poolId: string, meta: CommandMetadata): Promise<number> {
    return this.attempt('default pool release', { poolId }, () =>
      this.model.registryCommand({ type: 'ReleaseDefaultSubnetPool', ipVersion, subnetPoolId: poolId }, systemMeta(meta)),
    );
  }

  /**
   * Makes a scope's claims for a pool match the pool: releases what the pool no longer
   * holds (or everything, if the pool left the scope or is gone). Growth is claimed
   * before the pool changes, never here.
   */
  async syncScopeClaims(scopeId: string, poolId: string, meta: CommandMetadata): Promise<number> {
    const pool = (await this.model.pools.load(poolId)).state;
    const wanted = pool.exists && pool.addressScopeId === scopeId ? pool.prefixes : [];
    const scope = (await this.model.scopes.load(scopeId)).state;
    // Containment, not equality: the pool compacts prefixes (two /24 claims, one /23).
    const extra = (scope.claims.get(poolId) ?? []).filter((c) => !wanted.some((w) => cidrContainsCidr(w, c))).map(formatCidr);
    if (extra.length === 0) return 0;
    return this.attempt('scope claim release', { scopeId, poolId }, () =>
      this.model.scopes.execute(scopeId, { type: 'ReleasePrefixes', id: scopeId, subnetPoolId: poolId, prefixes: extra }, systemMeta(meta)),
    );
  }

  private async attempt(what: string, context: object, step: () => Promise<{ sequence: number; event: unknown }>): Promise<number> {
    try {
      const r = await step();
      return r.event ? r.sequence : 0;
    } catch (e) {
      this.logger.error({ err: e, ...context }, `${what} failed; the orphan sweeper will retry`);
      return 0;
    }
  }
}
