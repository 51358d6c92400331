import { Controller, Get, Req } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ValidationError } from '@ncp/contracts';
import { QuotaUsage } from '@ncp/eventstore';
import { neutronResource, type HttpRequestLike } from '@ncp/nest-common';
import { SecurityGroupCommands } from '../application/groups';
import { type SecgroupsPrisma } from '../infrastructure/prisma';
import { createGroupInput, createRulesInput, updateGroupInput } from './bodies';
import { securityGroupRules, securityGroups } from './resources';

type Deps = { commands: SecurityGroupCommands; quota: QuotaUsage };

@Controller('v2.0/security-groups')
export class SecurityGroupsController extends neutronResource<SecgroupsPrisma, Deps>({
  inject: { commands: SecurityGroupCommands, quota: QuotaUsage },
  reader: securityGroups,
  create: async (body, { deps, meta }) => {
    const input = createGroupInput(body, meta);
    // as Neutron: the project's default group exists before its first own group
    await deps.commands.ensureDefault(input.projectId, meta);
    const id = randomUUID();
    return deps.quota.guard(input.projectId, 'security_group', [id], meta, () => deps.commands.create(input, meta, id));
  },
  update: (id, body, { deps, meta }) => deps.commands.update(id, updateGroupInput(body), meta),
  delete: (id, { deps, meta }) => deps.commands.delete(id, meta),
}) {
  /** A project's first list shows its `default` group, created then (as Neutron does). */
  @Get()
  override async list(@Req() req: HttpRequestLike) {
    await ensureCallersDefault(this, req);
    return super.list(req);
  }
}

@Controller('v2.0/security-group-rules')
export class SecurityGroupRulesController extends neutronResource<SecgroupsPrisma, Deps>({
  inject: { commands: SecurityGroupCommands, quota: QuotaUsage },
  reader: securityGroupRules,
  create: async (body, { deps, meta }) => {
    const { bulk, rules } = createRulesInput(body, meta);
    const owners = await deps.commands.ruleOwners(rules);
    const written = await deps.quota.guardAll('security_group_rule', owners, meta, () => deps.commands.addRules(rules, meta));
    // The project's default group, as Neutron makes it for a project that writes rules: once
    // the rules are written, so that a refused request changes nothing.
    await deps.commands.ensureDefault(meta.projectId, meta);
    return bulk ? written : (written[0] ?? { id: '', sequence: 0 });
  },
  // Neutron's rules are immutable: every attribute is read-only, and there is no update
  update: (_id, body) => {
    const attributes = Object.keys((body as { security_group_rule?: object } | null)?.security_group_rule ?? {});
    if (attributes.length > 0) throw new ValidationError('API.HTTPBadRequest', `Cannot update read-only attribute ${attributes[0]}`);
    throw new ValidationError('API.HTTPBadRequest', 'Security group rules cannot be updated.');
  },
  delete: (id, { deps, meta }) => deps.commands.removeRule(id, meta),
}) {
  /** A project's first list shows its `default` group's rules, created then (as Neutron does). */
  @Get()
  override async list(@Req() req: HttpRequestLike) {
    await ensureCallersDefault(this, req);
    return super.list(req);
  }
}

async function ensureCallersDefault(controller: SecurityGroupsController | SecurityGroupRulesController, req: HttpRequestLike): Promise<void> {
  const meta = controller.api.meta(req);
  const { sequence } = await controller.deps.commands.ensureDefault(meta.projectId, meta);
  if (sequence !== null) await controller.api.settled({ id: meta.projectId, sequence });
}
