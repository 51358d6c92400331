import { ForbiddenError, ValidationError, type CommandMetadata } from '@ncp/contracts';

/**
 * A create body from another service's command (`cmd.ipam.create_network`, `create_subnet`):
 * `project_id: ''` asks for a resource of no project, which only admins see (Neutron's HA
 * networks, "HA network tenant <project>", have tenant_id ''). The body's parser refuses an
 * empty project id, so it is taken out here and the caller sets it back after parsing; only
 * a caller acting as admin (a service) may ask for it.
 */
export function serviceOwnedBody(input: unknown, meta: CommandMetadata): { body: Record<string, unknown>; noProject: boolean } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ValidationError('API.HTTPBadRequest', 'The body must be an object.');
  const { project_id, tenant_id, ...rest } = input as Record<string, unknown>;
  if (project_id !== '' && tenant_id !== '') return { body: input as Record<string, unknown>, noProject: false };
  if (!meta.isAdmin) throw new ForbiddenError('IPAM.PolicyNotAuthorized', 'A resource of no project is for a service to create.');
  if ((project_id ?? '') !== '' || (tenant_id ?? '') !== '') throw new ValidationError('API.HTTPBadRequest', "'project_id' and 'tenant_id' do not match");
  return { body: rest, noProject: true };
}
