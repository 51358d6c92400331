import { RBAC_WILDCARD, legacyAttributeEntryId, type RbacAction, type RbacEvent } from '@ncp/contracts';
import { type RbacObjectType } from '../domain/rbac';
import { type IpamTx } from '../infrastructure/prisma';

/**
 * The rbac_policies rows: Neutron's rbac-policies as the API lists them, folded from the
 * objects' events the same way their deciders fold their entries (rbac.ts in contracts).
 */

/** The object type of an aggregate that holds entries, or null. */
export function rbacObjectTypeOf(aggregate: string): RbacObjectType | null {
  if (aggregate === 'network') return 'network';
  if (aggregate === 'subnet_pool') return 'subnetpool';
  if (aggregate === 'address_scope') return 'address_scope';
  return null;
}

function objectColumn(type: RbacObjectType, objectId: string) {
  if (type === 'network') return { networkId: objectId };
  if (type === 'subnetpool') return { subnetPoolId: objectId };
  return { addressScopeId: objectId };
}

/** The object's `shared` column (and its subnets' copy): whether a wildcard access_as_shared entry is left. */
async function refreshShared(tx: IpamTx, type: RbacObjectType, objectId: string): Promise<void> {
  const shared = (await tx.rbacPolicy.count({ where: { objectId, action: 'access_as_shared', targetProject: RBAC_WILDCARD } })) > 0;
  if (type === 'network') {
    await tx.network.update({ where: { id: objectId }, data: { shared } });
    await tx.subnet.updateMany({ where: { networkId: objectId }, data: { networkShared: shared } });
  } else if (type === 'subnetpool') {
    await tx.subnetPool.update({ where: { id: objectId }, data: { shared } });
  } else {
    await tx.addressScope.update({ where: { id: objectId }, data: { shared } });
  }
}

/**
 * An attribute (`shared`, `router:external`) set on an object: its wildcard entry added unless
 * there is one, or taken away (with `allTargets`, every entry of the action).
 */
export async function applyAttributeEntry(
  tx: IpamTx,
  object: { type: RbacObjectType; id: string; projectId: string },
  change: { action: RbacAction; on: boolean; policyId: string | undefined; allTargets?: boolean },
  at: Date,
): Promise<void> {
  const { action } = change;
  if (change.on) {
    const wildcard = await tx.rbacPolicy.count({ where: { objectId: object.id, action, targetProject: RBAC_WILDCARD } });
    if (wildcard === 0) {
      const id = change.policyId ?? legacyAttributeEntryId(object.id, action);
      await tx.rbacPolicy.create({
        data: {
          id,
          objectType: object.type,
          objectId: object.id,
          action,
          targetProject: RBAC_WILDCARD,
          projectId: object.projectId,
          createdAt: at,
          ...objectColumn(object.type, object.id),
        },
      });
    }
  } else {
    await tx.rbacPolicy.deleteMany({ where: { objectId: object.id, action, ...(change.allTargets ? {} : { targetProject: RBAC_WILDCARD }) } });
  }
  if (action === 'access_as_shared') await refreshShared(tx, object.type, object.id);
}

/** An RbacPolicy* event of an object. */
export async function applyRbacEvent(tx: IpamTx, type: RbacObjectType, objectId: string, event: RbacEvent, at: Date): Promise<void> {
  let action: string | undefined;
  switch (event.type) {
    case 'RbacPolicyCreated': {
      const d = event.data;
      action = d.action;
      await tx.rbacPolicy.create({
        data: {
          id: d.policyId,
          objectType: type,
          objectId,
          action: d.action,
          targetProject: d.targetProject,
          projectId: d.projectId,
          createdAt: at,
          ...objectColumn(type, objectId),
        },
      });
      // Neutron: an access_as_external entry makes the network external.
      if (type === 'network' && d.action === 'access_as_external') await tx.network.update({ where: { id: objectId }, data: { external: true } });
      break;
    }
    case 'RbacPolicyUpdated': {
      const row = await tx.rbacPolicy.update({ where: { id: event.data.policyId }, data: { targetProject: event.data.targetProject } });
      action = row.action;
      break;
    }
    case 'RbacPolicyDeleted': {
      const row = await tx.rbacPolicy.delete({ where: { id: event.data.policyId } });
      action = row.action;
      if (type === 'network' && action === 'access_as_external') {
        const left = await tx.rbacPolicy.count({ where: { objectId, action: 'access_as_external' } });
        if (left === 0) await tx.network.update({ where: { id: objectId }, data: { external: false } });
      }
      break;
    }
  }
  if (action === 'access_as_shared') await refreshShared(tx, type, objectId);
}
