import { randomUUID } from 'node:crypto';
import { type CommandMetadata, type SgPortGroupsInput, type SgPortGroupsReply } from '@ncp/contracts';
import { type PortRequest, type PortUpdate } from '../domain/network.decider';
import { PortGroupsQuestion, type PortGroupFacts } from '../domain/port-security';
import { type AggregateLookups } from './lookups';
import { type IpamWriteModel, type Written } from './write-model';

/**
 * The security groups service as ports need it (`cmd.sg.port_groups`): the named groups must
 * exist for the port's project, else `SG.SecurityGroupNotFound`; with `withDefault`, the
 * project's default group.
 */
export interface SecurityGroupsResolver {
  portGroups(input: SgPortGroupsInput, meta: CommandMetadata): Promise<SgPortGroupsReply>;
}

export class PortCommands {
  constructor(
    private readonly model: IpamWriteModel,
    private readonly lookups: AggregateLookups,
    private readonly securityGroups: SecurityGroupsResolver,
  ) {}

  async create(networkId: string, projectId: string, request: PortRequest, meta: CommandMetadata, portId: string = randomUUID()): Promise<Written> {
    const macPrefix = this.model.policies.macPrefix;
    const sequence = await this.withGroups(
      (groups) => this.model.networks.execute(networkId, { type: 'CreatePort', id: networkId, portId, projectId, request, macPrefix, groups }, meta),
      meta,
    );
    return { id: portId, sequence };
  }

  async update(portId: string, changes: PortUpdate, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const networkId = await this.lookups.networkOfPort(portId);
    const sequence = await this.withGroups(
      (groups) => this.model.networks.execute(networkId, { type: 'UpdatePort', id: networkId, portId, changes, expectedRevision, groups }, meta),
      meta,
    );
    return { id: portId, sequence };
  }

  /** `force` is for services removing ports they own (router interfaces), never the public API. */
  async delete(portId: string, meta: CommandMetadata, force = false): Promise<Written> {
    return this.deleteFrom(await this.lookups.networkOfPort(portId), portId, meta, force);
  }

  /** Deletes a port whose network is known (no projection lookup). */
  async deleteFrom(networkId: string, portId: string, meta: CommandMetadata, force = false): Promise<Written> {
    const r = await this.model.networks.execute(networkId, { type: 'DeletePort', id: networkId, portId, force }, meta);
    return { id: portId, sequence: r.sequence };
  }

  /**
   * Runs a port command without the security groups service's answer; when the decider needs
   * it (everything else accepted), asks the question it names and runs the command again with
   * the answer. A refusal by the service (a group not found) is the command's refusal.
   */
  private async withGroups(execute: (groups: PortGroupFacts | undefined) => Promise<{ sequence: number }>, meta: CommandMetadata): Promise<number> {
    try {
      return (await execute(undefined)).sequence;
    } catch (e) {
      if (!(e instanceof PortGroupsQuestion)) throw e;
      const reply = await this.securityGroups.portGroups(e.question, meta);
      return (await execute({ confirmed: e.question.securityGroupIds, defaultSecurityGroupId: reply.defaultGroupId })).sequence;
    }
  }
}
