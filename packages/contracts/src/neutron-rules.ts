import { ConflictError, NotFoundError, PreconditionError, ValidationError } from './errors';
import { type CommandMetadata } from './envelope';

/**
 * The error constructors and checks the Neutron-facing deciders share. Codes are
 * `<prefix>.<NeutronExceptionName>` (`IPAM.NetworkNotFound`), so the API edge can answer
 * with Neutron's error type.
 */
export function neutronRules(prefix: string) {
  return {
    badRequest: (message: string, detail = '') => new ValidationError(`${prefix}.BadRequest`, message, detail),
    invalidInput: (message: string) => new ValidationError(`${prefix}.InvalidInput`, `Invalid input for operation: ${message}.`),
    notFound: (type: string, message: string) => new NotFoundError(`${prefix}.${type}`, message),
    conflict: (type: string, message: string) => new ConflictError(`${prefix}.${type}`, message),
    /** If-Match: revision_number=N. */
    checkRevision(current: number, expected: number | undefined): void {
      if (expected !== undefined && expected !== current) {
        throw new PreconditionError(`${prefix}.RevisionNumberConstraintFailed`, `Constraint for revision_number=${expected} failed`);
      }
    },
  };
}

/** A resource the caller may change: its own, or any for an admin. */
export function canModify(meta: CommandMetadata, owner: { projectId: string }): boolean {
  return meta.isAdmin || owner.projectId === meta.projectId;
}
