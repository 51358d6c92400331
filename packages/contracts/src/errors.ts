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

export class ValidationError extends DomainError {
  readonly kind = 'validation' as const;
}
export class NotFoundError extends DomainError {
  readonly kind = 'not_found' as const;
}
export class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
}
/** A conditional request (If-Match) whose condition failed. */
export class PreconditionError extends DomainError {
  readonly kind = 'precondition' as const;
}
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden' as const;
}
/** Another writer appended to the aggregate first; the only error worth retrying. */
export class ConcurrencyError extends DomainError {
  readonly kind = 'concurrency' as const;
}

/** A request (or the event it would append) larger than the service can take. */
export class TooLargeError extends DomainError {
  readonly kind = 'too_large' as const;
}
/** Another service or the event store did not answer: try again later. */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable' as const;
}

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
