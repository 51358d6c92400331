import { randomUUID } from 'node:crypto';
import { isIdToken, type CommandMetadata, type RbacAction } from '@ncp/contracts';
import { rbacPolicyNotFound, type RbacCommand, type RbacObjectType } from '../domain/rbac';
import { type IpamPrisma } from '../infrastructure/prisma';
import { type IpamWriteModel, type Written } from './write-model';

export interface CreateRbacPolicyInput {
  readonly projectId: string;
  readonly objectType: RbacObjectType;
  readonly objectId: string;
  readonly action: RbacAction;
  readonly targetProject: string;
}

/**
 * Neutron's rbac-policies: each is a command on the object it shares, whose decider holds its
 * entries. An existing entry's object comes from the projection (it never changes, and every
 * write waits for the projection before it returns).
 */
export class RbacPolicyCommands {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly prisma: IpamPrisma,
  ) {}

  async create(input: CreateRbacPolicyInput, meta: CommandMetadata): Promise<Written> {
    const policyId = randomUUID();
    const { objectType, objectId, action, targetProject, projectId } = input;
    const sequence = await this.execute(objectType, objectId, { type: 'CreateRbacPolicy', id: objectId, policyId, action, targetProject, projectId }, meta);
    return { id: policyId, sequence };
  }

  async update(id: string, changes: { targetProject: string }, _expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const row = await this.objectOf(id);
    const sequence = await this.execute(
      row.objectType,
      row.objectId,
      { type: 'UpdateRbacPolicy', id: row.objectId, policyId: id, targetProject: changes.targetProject },
      meta,
    );
    return { id, sequence };
  }

  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    const row = await this.objectOf(id);
    const sequence = await this.execute(row.objectType, row.objectId, { type: 'DeleteRbacPolicy', id: row.objectId, policyId: id }, meta);
    return { id, sequence };
  }

  private async objectOf(id: string): Promise<{ objectType: RbacObjectType; objectId: string }> {
    const row = isIdToken(id) ? await this.prisma.rbacPolicy.findUnique({ where: { id }, select: { objectType: true, objectId: true } }) : null;
    if (!row) throw rbacPolicyNotFound(id);
    return { objectType: row.objectType as RbacObjectType, objectId: row.objectId };
  }

  private async execute(objectType: RbacObjectType, objectId: string, command: RbacCommand, meta: CommandMetadata): Promise<number> {
    switch (objectType) {
      case 'network':
        return (await this.model.networks.execute(objectId, command, meta)).sequence;
      case 'subnetpool':
        return (await this.model.pools.execute(objectId, command, meta)).sequence;
      case 'address_scope':
        return (await this.model.scopes.execute(objectId, command, meta)).sequence;
    }
  }
}
