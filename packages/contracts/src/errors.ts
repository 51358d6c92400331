/**
 * The error family of the domain. Each error has a stable code (`IPAM.POOL_EXHAUSTED`);
 * the HTTP and NATS edges map the kind to a status and the code to a wire type.
 */
export type ErrorKind = 'validation' | 'not_found' | 'conflict' | 'precondition' | 'forbidden' | 'concurrency' | 'too_large' | 'unavailable';

export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(
    readonly code: string,
    message: string,
    readonly detail = '',
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The concrete error class of one kind; every error of the family below is one. */
function errorOfKind<K extends ErrorKind>(kind: K) {
  return class extends DomainError {
    readonly kind = kind;
  };
}

export class ValidationError extends errorOfKind('validation') {}
export class NotFoundError extends errorOfKind('not_found') {}
export class ConflictError extends errorOfKind('conflict') {}
/** A conditional request (If-Match) whose condition failed. */
export class PreconditionError extends errorOfKind('precondition') {}
export class ForbiddenError extends errorOfKind('forbidden') {}
/** Another writer appended to the aggregate first; the only error worth retrying. */
export class ConcurrencyError extends errorOfKind('concurrency') {}
/** A request (or the event it would append) larger than the service can take. */
export class TooLargeError extends errorOfKind('too_large') {}
/** Another service or the event store did not answer: try again later. */
export class UnavailableError extends errorOfKind('unavailable') {}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

/** Serialisable form for NATS replies. */
export interface ErrorReply {
  readonly error: { readonly kind: ErrorKind; readonly code: string; readonly message: string; readonly detail: string };
}

export function toErrorReply(e: DomainError): ErrorReply {
  return { error: { kind: e.kind, code: e.code, message: e.message, detail: e.detail } };
}

/** The class of each kind, to rebuild an error from its reply. */
const ERROR_CLASSES: Record<ErrorKind, new (code: string, message: string, detail: string) => DomainError> = {
  validation: ValidationError,
  not_found: NotFoundError,
  conflict: ConflictError,
  precondition: PreconditionError,
  forbidden: ForbiddenError,
  concurrency: ConcurrencyError,
  too_large: TooLargeError,
  unavailable: UnavailableError,
};

export function fromErrorReply(reply: ErrorReply): DomainError {
  const { kind, code, message, detail } = reply.error;
  return new ERROR_CLASSES[kind](code, message, detail);
}
