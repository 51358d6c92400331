import { randomUUID } from 'node:crypto';
import { type CommandMetadata, type SgPortGroupsInput, type SgPortGroupsReply } from '@ncp/contracts';
import { type PortRequest, type PortUpdate } from '../domain/network.decider';
import { createPortQuestion, updatePortQuestion, type PortGroupFacts } from '../domain/port-security';
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
    const groups = await this.ask(createPortQuestion(projectId, request), meta);
    const r = await this.model.networks.execute(
      networkId,
      { type: 'CreatePort', id: networkId, portId, projectId, request, macPrefix: this.model.policies.macPrefix, groups },
      meta,
    );
    return { id: portId, sequence: r.sequence };
  }

  async update(portId: string, changes: PortUpdate, expectedRevision: number | undefined, meta: CommandMetadata): Promise<Written> {
    const networkId = await this.lookups.networkOfPort(portId);
    // Only the port's own project (or an admin, whom the service does not hold to a project) may update it.
    const groups = await this.ask(updatePortQuestion(meta.projectId, changes), meta);
    const r = await this.model.networks.execute(networkId, { type: 'UpdatePort', id: networkId, portId, changes, expectedRevision, groups }, meta);
    return { id: portId, sequence: r.sequence };
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

  /** The service's answer as the decider's facts; nothing asked when the request cannot need it. */
  private async ask(question: SgPortGroupsInput | null, meta: CommandMetadata): Promise<PortGroupFacts | undefined> {
    if (question === null) return undefined;
    const reply = await this.securityGroups.portGroups(question, meta);
    return { confirmed: question.securityGroupIds, defaultSecurityGroupId: reply.defaultGroupId };
  }
}
