import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  authorize,
  enforce,
  NotFoundError,
  isDomainError,
  type CommandMetadata,
  type SgEvent,
  type SgPortGroupsInput,
  type SgPortGroupsReply,
  type SgProjectEvent,
} from '@ncp/contracts';
import { AggregateRepository, type JetStreamEventStore } from '@ncp/eventstore';
import { type Written } from '@ncp/nest-common';
import { groupDecider, type GroupAttributes, type GroupCommand, type GroupState } from '../domain/group.decider';
import { projectDecider, type ProjectCommand, type ProjectState } from '../domain/project.decider';
import { type RuleRequest } from '../domain/rule';
import { type SecgroupsPrisma } from '../infrastructure/prisma';

/** Neutron's name and description of the group every project gets on first use. */
export const DEFAULT_GROUP = { name: 'default', description: 'Default security group', stateful: true } as const;

/** Enough fresh rule ids for any group's starting rules (a default group has four). */
const startingRuleIds = () => Array.from({ length: 4 }, () => randomUUID());

export const groupNotFound = (id: string) => new NotFoundError('SG.SecurityGroupNotFound', `Security group ${id} does not exist`);

/** A rule to add, as the edge has checked its types: its group, a fresh id and the request. */
export type NewRule = { id: string; securityGroupId: string } & RuleRequest;

/**
 * The write side: groups and their rules (`ev.sg.group.<id>`), and each project's default
 * group claim (`ev.sg.project.<project id>`).
 */
export class SecurityGroupCommands {
  readonly groups: AggregateRepository<GroupState, GroupCommand, SgEvent>;
  readonly projects: AggregateRepository<ProjectState, ProjectCommand, SgProjectEvent>;

  constructor(
    store: JetStreamEventStore,
    private readonly prisma: SecgroupsPrisma,
    /** brings the projection (and its mirror of IPAM's ports) up to the end of the stream */
    private readonly catchUp: () => Promise<unknown>,
  ) {
    this.groups = new AggregateRepository(store, groupDecider);
    this.projects = new AggregateRepository(store, projectDecider);
  }

  /**
   * The project's `default` group, created on its first use as Neutron does: its id, and the
   * stream sequence to wait for before reading (null when the projection shows it already).
   * Concurrent first uses claim one group id on the project's aggregate, then create that
   * group; the creation is idempotent, so a retry after a crash between the two finishes it.
   * A default group an admin deleted is replaced by a new one (a new claim) on the next use.
   */
  async ensureDefault(projectId: string, meta: CommandMetadata): Promise<{ groupId: string; sequence: number | null }> {
    const shown = await this.prisma.securityGroup.findFirst({ where: { projectId, isDefault: true }, select: { id: true } });
    if (shown) return { groupId: shown.id, sequence: null };
    const claimed = await this.projects.execute(projectId, { type: 'ClaimDefaultGroup', groupId: randomUUID() }, meta);
    let groupId = claimedGroup(claimed.state, projectId);
    // bounded: each turn either finds the group, creates it, or follows a newer claim
    for (let attempt = 0; attempt < 5; attempt++) {
      const group = await this.groups.load(groupId);
      if (group.state.exists) return { groupId, sequence: group.sequence };
      if (group.sequence === 0) {
        try {
          const r = await this.groups.execute(
            groupId,
            { type: 'CreateGroup', id: groupId, projectId, isDefault: true, ruleIds: startingRuleIds(), ...DEFAULT_GROUP },
            meta,
          );
          return { groupId, sequence: r.sequence };
        } catch (e) {
          // created meanwhile by a concurrent first use: look again
          if (isDomainError(e) && e.code === 'SG.SecurityGroupExists') continue;
          throw e;
        }
      }
      // the claimed group was created, then deleted: claim a new one in its place
      const reclaimed = await this.projects.execute(projectId, { type: 'ReclaimDefaultGroup', previous: groupId, groupId: randomUUID() }, meta);
      groupId = claimedGroup(reclaimed.state, projectId);
    }
    throw new ConflictError('SG.SecurityGroupDefaultAlreadyExists', `The default security group of project ${projectId} kept changing; try again.`);
  }

  async create(input: { projectId: string } & GroupAttributes, meta: CommandMetadata, id: string = randomUUID()): Promise<Written> {
    const r = await this.groups.execute(id, { type: 'CreateGroup', id, ...input, isDefault: false, ruleIds: startingRuleIds() }, meta);
    return { id, sequence: r.sequence };
  }

  async update(id: string, changes: Partial<GroupAttributes>, meta: CommandMetadata): Promise<Written> {
    const r = await this.groups.execute(id, { type: 'UpdateGroup', id, changes }, meta);
    return { id, sequence: r.sequence };
  }

  /**
   * Deletes a group, then, as Neutron's cascade does, the rules of other groups that name it
   * as their remote group (each in its own group's aggregate; one already gone is skipped).
   */
  async delete(id: string, meta: CommandMetadata): Promise<Written> {
    // Which ports use a group is IPAM's fact (ports own their groups), read from the mirror
    // caught up to now: a port created after this check and before the deletion keeps a
    // group id that filters as a group without rules (nothing passes) until it is changed.
    await this.catchUp();
    if ((await this.prisma.ipamPort.count({ where: { securityGroups: { has: id } } })) > 0) {
      const { state } = await this.groups.load(id);
      // only to whom may delete it: others learn nothing from a conflict (the controller's 404/403 first)
      if (state.exists && authorize('delete_security_group', meta, { projectId: state.projectId }))
        throw new ConflictError('SG.SecurityGroupInUse', `Security Group ${id} in use.`);
    }
    const r = await this.groups.execute(id, { type: 'DeleteGroup', id, byAdmin: meta.isAdmin }, meta);
    let sequence = r.sequence;
    const referring = await this.prisma.securityGroupRule.findMany({ where: { remoteGroupId: id, NOT: { securityGroupId: id } }, orderBy: { id: 'asc' } });
    for (const rule of referring) {
      try {
        const removed = await this.groups.execute(rule.securityGroupId, { type: 'RemoveRule', id: rule.securityGroupId, ruleId: rule.id }, meta);
        sequence = Math.max(sequence, removed.sequence);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
      }
    }
    return { id, sequence };
  }

  /**
   * Adds rules, each to its group (a bulk may name several): a group or remote group the caller
   * may not see is not found (404), a group it sees but does not own is Neutron's 403
   * (create_security_group_rule). The rules of one group are added in one event (all or none);
   * when a later group refuses its rules, those added to the groups before it are removed again.
   */
  async addRules(rules: readonly NewRule[], meta: CommandMetadata): Promise<Written[]> {
    const visible = async (groupId: string, then?: 'create_security_group_rule') => {
      const { state } = await this.groups.load(groupId);
      if (!state.exists || !authorize('get_security_group', meta, { projectId: state.projectId })) throw groupNotFound(groupId);
      if (then) enforce('SG', then, meta, { projectId: state.projectId, securityGroupProjectId: state.projectId });
    };
    const byGroup = new Map<string, NewRule[]>();
    for (const rule of rules) {
      if (!byGroup.has(rule.securityGroupId)) await visible(rule.securityGroupId, 'create_security_group_rule');
      if (rule.remoteGroupId != null && rule.remoteGroupId !== rule.securityGroupId) await visible(rule.remoteGroupId);
      byGroup.set(rule.securityGroupId, [...(byGroup.get(rule.securityGroupId) ?? []), rule]);
    }
    const sequences = new Map<string, number>();
    const done: [string, NewRule[]][] = [];
    try {
      for (const [groupId, added] of byGroup) {
        const r = await this.groups.execute(groupId, { type: 'AddRules', id: groupId, rules: added.map(({ securityGroupId: _, ...rule }) => rule) }, meta);
        for (const rule of added) sequences.set(rule.id, r.sequence);
        done.push([groupId, added]);
      }
    } catch (e) {
      for (const [groupId, added] of done.reverse()) {
        for (const rule of added) await this.groups.execute(groupId, { type: 'RemoveRule', id: groupId, ruleId: rule.id }, meta).catch(() => undefined);
      }
      throw e;
    }
    return rules.map((rule) => ({ id: rule.id, sequence: sequences.get(rule.id) ?? 0 }));
  }

  /**
   * Whose quota each rule counts against: its group's project (a rule is its group's). A group
   * that does not exist counts nothing: adding its rules is refused anyway.
   */
  async ruleOwners(rules: readonly NewRule[]): Promise<{ projectId: string; id: string }[]> {
    const owners = new Map<string, string | null>();
    for (const { securityGroupId } of rules) {
      if (!owners.has(securityGroupId)) {
        const { state } = await this.groups.load(securityGroupId);
        owners.set(securityGroupId, state.exists ? state.projectId : null);
      }
    }
    return rules.flatMap((r) => {
      const projectId = owners.get(r.securityGroupId);
      return projectId ? [{ projectId, id: r.id }] : [];
    });
  }

  /**
   * IPAM's question when a port names its groups (`cmd.sg.port_groups`): each must exist and be
   * the port's project's (any project's for an admin), else 404 as Neutron; with `withDefault`,
   * the project's default group, made on this first use if need be.
   */
  async portGroups(input: SgPortGroupsInput, meta: CommandMetadata): Promise<SgPortGroupsReply> {
    for (const id of new Set(input.securityGroupIds)) {
      const { state } = await this.groups.load(id);
      if (!state.exists || (!meta.isAdmin && state.projectId !== input.projectId)) throw groupNotFound(id);
    }
    return { defaultGroupId: input.withDefault ? (await this.ensureDefault(input.projectId, meta)).groupId : null };
  }

  /** Removes a rule from its group (the projection says which group holds it). */
  async removeRule(ruleId: string, meta: CommandMetadata): Promise<Written> {
    const rule = await this.prisma.securityGroupRule.findUnique({ where: { id: ruleId } });
    if (!rule) throw new NotFoundError('SG.SecurityGroupRuleNotFound', `Security group rule ${ruleId} does not exist`);
    const r = await this.groups.execute(rule.securityGroupId, { type: 'RemoveRule', id: rule.securityGroupId, ruleId }, meta);
    return { id: ruleId, sequence: r.sequence };
  }
}

function claimedGroup(state: ProjectState, projectId: string): string {
  if (state.defaultGroupId === null) throw new Error(`project ${projectId}: no default group claimed after a claim`);
  return state.defaultGroupId;
}
