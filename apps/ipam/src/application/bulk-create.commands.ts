import { randomUUID } from 'node:crypto';
import { isDomainError, type CommandMetadata, type QuotaKind } from '@ncp/contracts';
import { type QuotaUsage } from '@ncp/eventstore';
import { type Logger } from '@ncp/nest-common';
import { type BulkCollection, type BulkItem } from '../domain/bulk-create.decider';
import { type PortRequest } from '../domain/network.decider';
import { type CreateNetworkInput, type NetworkCommands } from './network.commands';
import { type PortCommands } from './port.commands';
import { type CreateSubnetInput, type SubnetCommands } from './subnet.commands';
import { systemMeta, type IpamWriteModel, type Written } from './write-model';

export interface CreatePortInput {
  readonly networkId: string;
  readonly projectId: string;
  readonly request: PortRequest;
}

interface Planned extends BulkItem {
  /** whose quota the item counts against */
  projectId: string;
  make(): Promise<Written>;
}

/** The quota kind of each bulk collection. */
const KIND_OF: Record<BulkCollection, QuotaKind> = { networks: 'network', subnets: 'subnet', ports: 'port' };

/**
 * Neutron's bulk create (`{"networks": [...]}`, `{"subnets": [...]}`, `{"ports": [...]}`):
 * all items or none, answered in request order.
 *
 * The items live in different aggregates (each network is one; subnets and ports belong
 * to their networks), and an append is atomic for one aggregate only, so this is a saga
 * with a journal: the `bulk_create` aggregate records the planned ids first, then the
 * items are made one by one with the ordinary single-create commands (the same rules,
 * the same events), then the journal is completed. When an item is refused the journal is
 * aborted and what was made is deleted again, newest first, before the refusal is answered.
 *
 * A crash mid-way is converged by the orphan sweeper (`finishAbandoned`): a journal still
 * started (or aborted but not undone) after the grace period is aborted and undone. Abort
 * and complete are decided by the journal, so the request and the sweeper can never both
 * win. While a bulk runs its first items are visible, as with Neutron's emulated bulk.
 */
export class BulkCreateCommands {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly networks: NetworkCommands,
    private readonly subnets: SubnetCommands,
    private readonly ports: PortCommands,
    /** Waits until the read side shows a sequence: a refused bulk is answered once its undo is visible. */
    private readonly settle: (sequence: number) => Promise<void>,
    private readonly logger: Logger,
    /** Every item of a bulk create is reserved in its project's quota at once, before any is made. */
    private readonly quota: QuotaUsage,
  ) {}

  createNetworks(inputs: readonly CreateNetworkInput[], meta: CommandMetadata): Promise<Written[]> {
    return this.run(
      'networks',
      inputs,
      (input, id) => ({ networkId: id, projectId: input.projectId, make: () => this.networks.create(input, meta, id) }),
      meta,
    );
  }

  createSubnets(inputs: readonly CreateSubnetInput[], meta: CommandMetadata): Promise<Written[]> {
    return this.run(
      'subnets',
      inputs,
      (input, id) => ({ networkId: input.networkId, projectId: input.projectId, make: () => this.subnets.create(input, meta, id) }),
      meta,
    );
  }

  createPorts(inputs: readonly CreatePortInput[], meta: CommandMetadata): Promise<Written[]> {
    return this.run(
      'ports',
      inputs,
      (input, id) => ({
        networkId: input.networkId,
        projectId: input.projectId,
        make: () => this.ports.create(input.networkId, input.projectId, input.request, meta, id),
      }),
      meta,
    );
  }

  /**
   * Finishes a journal whose request is gone (the orphan sweeper): aborts it unless it
   * completed meanwhile, then undoes its items. True when it is undone now.
   */
  async finishAbandoned(bulkId: string, meta: CommandMetadata): Promise<boolean> {
    const journal = (await this.model.bulkCreates.load(bulkId)).state;
    if (journal.status === 'none' || journal.status === 'completed' || journal.status === 'undone') return false;
    try {
      await this.model.bulkCreates.execute(bulkId, { type: 'AbortBulkCreate', id: bulkId, reason: 'abandoned: not completed within the grace period' }, meta);
    } catch (e) {
      if (isDomainError(e) && e.code === 'IPAM.BulkCreateCompleted') return false;
      throw e;
    }
    return (await this.undo(bulkId, journal.collection, journal.items, meta)) > 0;
  }

  /** Gives every input its id up front (the journal records them all before any is made), then runs the saga. */
  private async run<I>(
    collection: BulkCollection,
    inputs: readonly I[],
    plan: (input: I, id: string) => Omit<Planned, 'id'>,
    meta: CommandMetadata,
  ): Promise<Written[]> {
    const planned: Planned[] = inputs.map((input) => {
      const id = randomUUID();
      return { id, ...plan(input, id) };
    });
    return this.quota.guardAll(KIND_OF[collection], planned, meta, () => this.saga(collection, planned, meta));
  }

  private async saga(collection: BulkCollection, planned: readonly Planned[], meta: CommandMetadata): Promise<Written[]> {
    const bulkId = randomUUID();
    const items = planned.map(({ id, networkId }) => ({ id, networkId }));
    await this.model.bulkCreates.execute(bulkId, { type: 'StartBulkCreate', id: bulkId, collection, items }, meta);
    const written: Written[] = [];
    try {
      for (const item of planned) written.push(await item.make());
      await this.model.bulkCreates.execute(bulkId, { type: 'CompleteBulkCreate', id: bulkId }, meta);
      return written;
    } catch (e) {
      await this.abandon(bulkId, collection, items.slice(0, written.length + 1), e, meta);
      throw e;
    }
  }

  /**
   * Undoes what this request made. Best effort: a step that fails leaves the journal
   * aborted (or started), and the sweeper finishes it. `items` includes the refused one,
   * whose saga may have left a part behind if it failed after its own append.
   */
  private async abandon(bulkId: string, collection: BulkCollection, items: readonly BulkItem[], cause: unknown, meta: CommandMetadata): Promise<void> {
    const reason = (isDomainError(cause) ? cause.code : cause instanceof Error ? cause.message : String(cause)).slice(0, 200);
    try {
      await this.model.bulkCreates.execute(bulkId, { type: 'AbortBulkCreate', id: bulkId, reason }, systemMeta(meta));
    } catch (e) {
      // Completed after all (its append's fate was unknown), or unreachable: not ours to undo.
      this.logger.error({ err: e, bulkId }, 'bulk create not aborted; the orphan sweeper will decide');
      return;
    }
    const sequence = await this.undo(bulkId, collection, items, systemMeta(meta));
    if (sequence > 0) await this.settle(sequence).catch((e: unknown) => this.logger.warn({ err: e, bulkId }, 'undo of a bulk create not yet visible'));
  }

  /** The sequence of the journal's `BulkCreateUndone`, or 0 when a step failed. */
  private async undo(bulkId: string, collection: BulkCollection, items: readonly BulkItem[], meta: CommandMetadata): Promise<number> {
    try {
      for (const item of [...items].reverse()) await this.undoItem(collection, item, meta);
      return (await this.model.bulkCreates.execute(bulkId, { type: 'MarkBulkCreateUndone', id: bulkId }, meta)).sequence;
    } catch (e) {
      this.logger.error({ err: e, bulkId }, 'bulk create not fully undone; the orphan sweeper will retry');
      return 0;
    }
  }

  /** Deletes one item if it exists (idempotent: the sweeper may repeat an undo). */
  private async undoItem(collection: BulkCollection, item: BulkItem, meta: CommandMetadata): Promise<void> {
    const network = (await this.model.networks.load(item.networkId)).state;
    if (!network.exists) return;
    switch (collection) {
      case 'networks':
        await this.networks.delete(item.id, meta);
        return;
      case 'subnets':
        if (network.subnets.has(item.id)) await this.subnets.deleteFrom(item.networkId, item.id, meta);
        return;
      case 'ports':
        // Forced: the port is ours to remove whatever device owner the request gave it.
        if (network.ports.has(item.id)) await this.ports.deleteFrom(item.networkId, item.id, meta, true);
        return;
      default: {
        const _exhaustive: never = collection;
        return _exhaustive;
      }
    }
  }
}
