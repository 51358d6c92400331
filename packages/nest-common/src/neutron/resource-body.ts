import { ValidationError, type CommandMetadata } from '@ncp/contracts';
import { type z } from 'zod';
import { neutronProjectId, neutronString, parseBody, readOnlyOnUpdate } from './body';

/** An IP address, prefix or MAC: parsed by the domain; in a body it only needs to be short text. */
export const neutronAddress = () => neutronString(64);

/** What every resource's body may say of its owner: `tenant_id` or `project_id` (the same, under its old name). */
export const ownerAttributes = () => ({ tenant_id: neutronProjectId().optional(), project_id: neutronProjectId().optional() });

/** The project a new resource belongs to: the caller's, unless an admin names another. */
export function projectOf(body: { tenant_id?: string; project_id?: string }, meta: CommandMetadata): string {
  const asked = body.project_id ?? body.tenant_id;
  if (asked === undefined || asked === meta.projectId) return meta.projectId;
  if (!meta.isAdmin) {
    throw new ValidationError(
      'API.HTTPBadRequest',
      "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges",
    );
  }
  return asked;
}

/** The attributes that are set: what an update changes. */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A PUT body: `{ "<singular>": {...} }` validated by the resource's schema, refusing any attribute not in `updatable`. */
export function parseUpdateBody<S extends z.ZodType>(body: unknown, singular: string, schema: S, updatable: readonly string[]): z.infer<S> {
  const parsed = parseBody(body, singular, schema);
  // parseBody has made sure the inner object is there
  readOnlyOnUpdate((body as Record<string, Record<string, unknown>>)[singular] ?? {}, updatable);
  return parsed;
}
