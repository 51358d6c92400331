import { type Naming, type SecurityGroupRule, type SgEvent } from '@ncp/contracts';
import { WholeStreamProjection, byType, firstRevision, nextRevision, quotaLimitsFold } from '@ncp/eventstore';
import { FactMirror } from '@ncp/fact-mirror';
import { type SecgroupsTx } from '../infrastructure/prisma';

const TABLES = ['security_groups', 'security_group_rules', 'ipam_ports', 'agents', 'fact_mirror', 'quota_limits'];

/** The ports' filtering attributes and addresses, and where each host's agent is. */
const mirror = new FactMirror<SecgroupsTx>((tx) => tx.factMirror, {
  port: {
    rows: (tx) => tx.ipamPort,
    columns: [
      'networkId',
      'projectId',
      'macAddress',
      'deviceOwner',
      'bindingHostId',
      'fixedIps',
      'portSecurityEnabled',
      'securityGroups',
      'allowedAddressPairs',
    ],
  },
  agent: { rows: (tx) => tx.agent, columns: ['id', 'row'] },
});

/** A rule's row: its group's project, its own revision (rules are never changed, only added and removed). */
const ruleRow = (securityGroupId: string, projectId: string, at: Date) => (rule: SecurityGroupRule) => ({
  ...rule,
  securityGroupId,
  projectId,
  ...firstRevision(at),
});

/** Every change to a group's rules is a new revision of the group, as in Neutron. */
const touchGroup = (tx: SecgroupsTx, id: string, at: Date) => tx.securityGroup.update({ where: { id }, data: nextRevision(at) });

const groups = byType<SecgroupsTx, SgEvent>({
  SecurityGroupCreated: async (tx, { id, at, data: { rules, ...group } }) => {
    await tx.securityGroup.create({ data: { id, ...group, ...firstRevision(at) } });
    await tx.securityGroupRule.createMany({ data: rules.map(ruleRow(id, group.projectId, at)) });
  },
  SecurityGroupUpdated: (tx, { id, at, data }) => tx.securityGroup.update({ where: { id }, data: { ...data.changes, ...nextRevision(at) } }),
  SecurityGroupRulesAdded: async (tx, { id, at, data }) => {
    const group = await touchGroup(tx, id, at);
    await tx.securityGroupRule.createMany({ data: data.rules.map(ruleRow(id, group.projectId, at)) });
  },
  SecurityGroupRuleRemoved: async (tx, { id, at, data }) => {
    await tx.securityGroupRule.deleteMany({ where: { id: data.ruleId, securityGroupId: id } });
    await touchGroup(tx, id, at);
  },
  SecurityGroupDeleted: async (tx, { id }) => {
    await tx.securityGroupRule.deleteMany({ where: { securityGroupId: id } });
    await tx.securityGroup.deleteMany({ where: { id } });
  },
});

/**
 * The groups and their rules, from the groups' events (`ev.sg.group.>`), and the mirror of
 * IPAM's ports and the agents the filtering is made of, and the projects' quota overrides. The projects' default group claims are
 * not shown: the group they name carries `isDefault`.
 */
export class SecgroupsProjection extends WholeStreamProjection<SecgroupsTx> {
  constructor(naming: Naming) {
    super('secgroups', naming, { sg: ['group'], ipam: ['network', 'quota'], agent: ['agent'] }, TABLES, {
      group: groups,
      network: mirror,
      agent: mirror,
      // the projects' quota overrides (IPAM's), for the limits of groups and rules
      quota: quotaLimitsFold((tx) => tx.quotaLimit),
    });
  }
}
