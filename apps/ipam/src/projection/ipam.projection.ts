import { QUOTA_AGGREGATE, USAGE_AGGREGATE, type IpamEvent, type Naming, type RecordedEvent } from '@ncp/contracts';
import { type Projection } from '@ncp/eventstore';
import { type Prisma } from '../generated/prisma/client';
import { type IpamTx } from '../infrastructure/prisma';
import { applyPortRun, isPortEvent, type PortRecordedEvent } from './port-rows';
import { applyAttributeEntry, applyRbacEvent, rbacObjectTypeOf } from './rbac-rows';

const json = (v: unknown) => v as Prisma.InputJsonValue;

/** Copies the keys that are present, renamed from event to column names. */
function pick(changes: Record<string, unknown>, rename: Record<string, string> = {}): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(changes)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [rename[k] ?? k, v]),
  );
}

const POOL_COLUMNS = {
  defaultPrefixLength: 'defaultPrefixlen',
  minPrefixLength: 'minPrefixlen',
  maxPrefixLength: 'maxPrefixlen',
};

/** The projection's tables, in an order TRUNCATE takes (a constant, never input). */
const TABLES =
  'port_fixed_ips, ports, subnets, networks, subnet_pool_allocations, subnet_pools, address_scope_claims, address_scopes, segment_reservations, default_subnet_pools, bulk_creates, rbac_policies';

/** Folds ipam.* events into the tables the API reads. */
export class IpamProjection implements Projection<IpamTx> {
  readonly name = 'ipam';
  readonly filter: string;

  constructor(private readonly naming: Naming) {
    this.filter = naming.eventsOfContext('ipam');
  }

  /** Quota limits and usage are the quota projection's: skipped, as two of the three events of every create. */
  accepts(subject: string): boolean {
    let aggregate: string;
    try {
      ({ aggregate } = this.naming.parseEventSubject(subject));
    } catch {
      return true; // not an event's subject: applied, to be parked as what it is
    }
    return aggregate !== QUOTA_AGGREGATE && aggregate !== USAGE_AGGREGATE;
  }

  async reset(tx: IpamTx): Promise<void> {
    await tx.$executeRawUnsafe(`TRUNCATE ${TABLES}`);
  }

  async analyze(tx: IpamTx): Promise<void> {
    await tx.$executeRawUnsafe(`ANALYZE ${TABLES}`);
  }

  apply(tx: IpamTx, recorded: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [recorded]);
  }

  /** Consecutive port events go set-wise; any other event ends such a run, so order holds. */
  async applyBatch(tx: IpamTx, events: readonly RecordedEvent[]): Promise<void> {
    let run: PortRecordedEvent[] = [];
    for (const recorded of events) {
      if (isPortEvent(recorded)) {
        run.push(recorded);
        continue;
      }
      if (run.length > 0) await applyPortRun(tx, run);
      run = [];
      await this.applyEvent(tx, recorded);
    }
    if (run.length > 0) await applyPortRun(tx, run);
  }

  private async applyEvent(tx: IpamTx, recorded: RecordedEvent): Promise<void> {
    const e = recorded.envelope;
    const event = { type: e.type, data: e.data } as IpamEvent;
    const id = e.aggregateId;
    const at = new Date(e.occurredAt);
    const touched = { updatedAt: at, revisionNumber: { increment: 1 } };
    switch (event.type) {
      case 'AddressScopeCreated': {
        const { sharedPolicyId, ...data } = event.data;
        await tx.addressScope.create({ data: { id, ...data, revisionNumber: 1, createdAt: at, updatedAt: at } });
        const scope = { type: 'address_scope' as const, id, projectId: data.projectId };
        await applyAttributeEntry(tx, scope, { action: 'access_as_shared', on: data.shared, policyId: sharedPolicyId }, at);
        return;
      }
      case 'AddressScopeUpdated': {
        const { shared, ...changes } = event.data.changes;
        const scope = await tx.addressScope.update({ where: { id }, data: { ...pick(changes), ...touched } });
        if (shared !== undefined) {
          await applyAttributeEntry(
            tx,
            { type: 'address_scope', id, projectId: scope.projectId },
            { action: 'access_as_shared', on: shared, policyId: event.data.sharedPolicyId },
            at,
          );
        }
        return;
      }
      case 'AddressScopeDeleted':
        await tx.addressScopeClaim.deleteMany({ where: { addressScopeId: id } });
        await tx.addressScope.delete({ where: { id } });
        return;
      case 'AddressScopePrefixesClaimed':
        await tx.addressScopeClaim.createMany({
          data: event.data.prefixes.map((prefix) => ({ addressScopeId: id, prefix, subnetPoolId: event.data.subnetPoolId, claimedAt: at })),
          skipDuplicates: true,
        });
        return;
      case 'AddressScopePrefixesReleased':
        await tx.addressScopeClaim.deleteMany({
          where: { addressScopeId: id, subnetPoolId: event.data.subnetPoolId, prefix: { in: event.data.prefixes } },
        });
        return;
      case 'SubnetPoolCreated': {
        const { defaultPrefixLength, minPrefixLength, maxPrefixLength, sharedPolicyId, ...rest } = event.data;
        await tx.subnetPool.create({
          data: {
            id,
            ...rest,
            defaultPrefixlen: defaultPrefixLength,
            minPrefixlen: minPrefixLength,
            maxPrefixlen: maxPrefixLength,
            revisionNumber: 1,
            createdAt: at,
            updatedAt: at,
          },
        });
        const pool = { type: 'subnetpool' as const, id, projectId: rest.projectId };
        await applyAttributeEntry(tx, pool, { action: 'access_as_shared', on: rest.shared, policyId: sharedPolicyId }, at);
        return;
      }
      case 'SubnetPoolUpdated':
        await tx.subnetPool.update({ where: { id }, data: { ...pick(event.data.changes, POOL_COLUMNS), ...touched } });
        return;
      case 'SubnetPoolPrefixesChanged':
        await tx.subnetPool.update({ where: { id }, data: { prefixes: event.data.prefixes, ...touched } });
        return;
      case 'SubnetPoolPrefixAllocated':
        await tx.subnetPoolAllocation.upsert({
          where: { subnetId: event.data.subnetId },
          create: { ...event.data, subnetPoolId: id, allocatedAt: at },
          update: {},
        });
        return;
      case 'SubnetPoolPrefixReleased':
        await tx.subnetPoolAllocation.deleteMany({ where: { subnetId: event.data.subnetId, subnetPoolId: id } });
        return;
      case 'SubnetPoolDeleted':
        await tx.subnetPool.delete({ where: { id } });
        return;
      case 'SegmentReserved': {
        const s = event.data.segment;
        const data = { networkType: s.networkType, physicalNetwork: s.physicalNetwork, segmentationId: s.segmentationId, reservedAt: at };
        await tx.segmentReservation.upsert({ where: { networkId: event.data.networkId }, create: { networkId: event.data.networkId, ...data }, update: data });
        return;
      }
      case 'SegmentReleased':
        await tx.segmentReservation.deleteMany({ where: { networkId: event.data.networkId } });
        return;
      case 'DefaultSubnetPoolClaimed':
        await tx.defaultSubnetPool.upsert({
          where: { ipVersion: event.data.ipVersion },
          create: { ipVersion: event.data.ipVersion, subnetPoolId: event.data.subnetPoolId, claimedAt: at },
          update: { subnetPoolId: event.data.subnetPoolId, claimedAt: at },
        });
        return;
      case 'DefaultSubnetPoolReleased':
        await tx.defaultSubnetPool.deleteMany({ where: { ipVersion: event.data.ipVersion, subnetPoolId: event.data.subnetPoolId } });
        return;
      case 'NetworkCreated': {
        const { segment, sharedPolicyId: _shared, externalPolicyId: _external, ...rest } = event.data;
        await tx.network.create({
          data: {
            id,
            ...rest,
            networkType: segment.networkType,
            physicalNetwork: segment.physicalNetwork,
            segmentationId: segment.segmentationId,
            status: 'ACTIVE',
            revisionNumber: 1,
            createdAt: at,
            updatedAt: at,
          },
        });
        await this.networkAttributeEntries(tx, { id, projectId: rest.projectId }, rest, event.data, at);
        return;
      }
      case 'NetworkUpdated': {
        const { shared: _shared, ...c } = event.data.changes;
        const network = await tx.network.update({ where: { id }, data: { ...pick(c), ...touched } });
        await this.networkAttributeEntries(tx, network, event.data.changes, event.data, at);
        return;
      }
      case 'NetworkDeleted':
        await tx.port.deleteMany({ where: { networkId: id } });
        await tx.network.delete({ where: { id } });
        return;
      case 'SubnetCreated': {
        const { subnetId, autoAddresses, allocationPools, hostRoutes, subnetPoolId, ...rest } = event.data;
        const network = await tx.network.findUniqueOrThrow({ where: { id }, select: { shared: true } });
        await tx.subnet.create({
          data: {
            id: subnetId,
            networkId: id,
            ...rest,
            subnetpoolId: subnetPoolId,
            allocationPools: json(allocationPools),
            hostRoutes: json(hostRoutes),
            networkShared: network.shared,
            revisionNumber: 1,
            createdAt: at,
            updatedAt: at,
          },
        });
        if (autoAddresses.length > 0) {
          await tx.portFixedIp.createMany({
            data: autoAddresses.map((a) => ({ portId: a.portId, subnetId, ipAddress: a.ipAddress, position: 1000 })),
          });
        }
        return;
      }
      case 'SubnetUpdated': {
        const { allocationPools, hostRoutes, ...rest } = event.data.changes;
        await tx.subnet.update({
          where: { id: event.data.subnetId },
          data: {
            ...pick(rest),
            ...(allocationPools !== undefined ? { allocationPools: json(allocationPools) } : {}),
            ...(hostRoutes !== undefined ? { hostRoutes: json(hostRoutes) } : {}),
            ...touched,
          },
        });
        return;
      }
      case 'SubnetDeleted':
        await tx.portFixedIp.deleteMany({ where: { subnetId: event.data.subnetId } });
        await tx.subnet.delete({ where: { id: event.data.subnetId } });
        return;
      case 'BulkCreateStarted':
        await tx.bulkCreate.create({ data: { id, collection: event.data.collection, status: 'started', startedAt: at } });
        return;
      case 'BulkCreateAborted':
        await tx.bulkCreate.updateMany({ where: { id }, data: { status: 'aborted' } });
        return;
      case 'BulkCreateCompleted':
      case 'BulkCreateUndone':
        await tx.bulkCreate.deleteMany({ where: { id } });
        return;
      // applyBatch folds port events in runs and never sends them here; a run of one keeps
      // this switch exhaustive without a second way of writing ports.
      case 'PortCreated':
      case 'PortUpdated':
      case 'PortStatusChanged':
      case 'PortDeleted':
        await applyPortRun(tx, [recorded as PortRecordedEvent]);
        return;
      case 'RbacPolicyCreated':
      case 'RbacPolicyUpdated':
      case 'RbacPolicyDeleted': {
        const type = rbacObjectTypeOf(e.aggregate);
        if (type === null) throw new Error(`RBAC event on ${e.aggregate} ${id}, which holds no entries`);
        await applyRbacEvent(tx, type, id, event, at);
        return;
      }
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  }

  /** The entries `shared` and `router:external` make or take away (as the network decider folds them). */
  private async networkAttributeEntries(
    tx: IpamTx,
    network: { id: string; projectId: string },
    set: { shared?: boolean; external?: boolean },
    ids: { sharedPolicyId?: string; externalPolicyId?: string },
    at: Date,
  ): Promise<void> {
    const object = { type: 'network' as const, ...network };
    if (set.shared !== undefined) await applyAttributeEntry(tx, object, { action: 'access_as_shared', on: set.shared, policyId: ids.sharedPolicyId }, at);
    if (set.external !== undefined) {
      await applyAttributeEntry(tx, object, { action: 'access_as_external', on: set.external, policyId: ids.externalPolicyId, allTargets: true }, at);
    }
  }
}
