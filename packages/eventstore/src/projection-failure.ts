import { isDomainError } from '@ncp/contracts';

/**
 * Why applying events to a projection failed, which decides what the runner does:
 * - `transient`: the database or the network, not the events (connection lost, serialization
 *   failure, lock or pool timeout, a schema not migrated yet). Retried with backoff, never parked.
 * - `poison`: one event's content (Postgres data exceptions, class 22; integrity violations,
 *   class 23; a value too large for an index; an event the registry cannot decode or upcast; a
 *   query its data made invalid). Parked once it fails alone.
 * - `unknown`: anything else (a bug, say). Parked once it has failed alone a few times.
 */
export type ProjectionFailure = 'transient' | 'poison' | 'unknown';

/** A Postgres SQLSTATE (22021, 55P03, XX000, P0001), not one of Prisma's codes (P2002). */
const SQLSTATE = /^(?:\d[0-9A-Z]|[A-Z]{2}|P0)[0-9A-Z]{3}$/;

/** Postgres error classes that say nothing about the event: connection, rollback, resources, schema. */
const TRANSIENT_CLASSES = new Set(['08', '25', '28', '3D', '3F', '40', '42', '53', '55', '57', '58', 'XX']);
/** Postgres error classes caused by the data written: data exceptions and integrity violations. */
const POISON_CLASSES = new Set(['22', '23']);
/** Prisma's own codes for connection, pool and transaction trouble. */
const PRISMA_TRANSIENT = /^P1\d{3}$|^P20(24|28|34|37)$/;
/** Prisma's codes for a value or a constraint the data broke. */
const PRISMA_POISON = /^P20(00|0[2-7]|1[1-4]|19|20|23|25)$/;
/** How Prisma's Postgres adapter names connection trouble it has no SQLSTATE for. */
const ADAPTER_TRANSIENT = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
  'TransactionAlreadyClosed',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
]);
/** Node's socket errors. */
const NODE_TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

interface ErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly meta?: { readonly driverAdapterError?: { readonly cause?: { readonly originalCode?: unknown; readonly code?: unknown; readonly kind?: unknown } } };
  readonly cause?: unknown;
}

/** The Postgres SQLSTATE behind an error, through Prisma's driver-adapter wrapping or `pg`'s own error. */
export function sqlState(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const x = e as ErrorLike;
    const cause = x.meta?.driverAdapterError?.cause;
    for (const c of [cause?.originalCode, cause?.code, x.code]) if (typeof c === 'string' && SQLSTATE.test(c)) return c;
    e = x.cause;
  }
  return undefined;
}

/** Whether Postgres aborted a transaction for a deadlock or a serialization failure: trying it again may succeed. */
export function isTransactionConflict(err: unknown): boolean {
  const state = sqlState(err);
  return state === '40P01' || state === '40001';
}

export function classifyProjectionFailure(err: unknown): ProjectionFailure {
  const state = sqlState(err);
  if (state !== undefined) {
    const cls = state.slice(0, 2);
    if (POISON_CLASSES.has(cls) || state === '54000') return 'poison';
    if (TRANSIENT_CLASSES.has(cls)) return 'transient';
  }
  if (typeof err !== 'object' || err === null) return 'unknown';
  const { name, code, meta } = err as ErrorLike;
  const kind = meta?.driverAdapterError?.cause?.kind;
  if (typeof kind === 'string' && ADAPTER_TRANSIENT.has(kind)) return 'transient';
  if (typeof code === 'string') {
    if (PRISMA_TRANSIENT.test(code) || NODE_TRANSIENT.has(code)) return 'transient';
    if (PRISMA_POISON.test(code)) return 'poison';
  }
  // The registry's refusals (unknown type or version, data that fails its schema) and any other
  // domain error a projection throws about an event.
  if (isDomainError(err) && err.kind !== 'concurrency') return 'poison';
  if (name === 'PrismaClientInitializationError' || name === 'PrismaClientRustPanicError') return 'transient';
  // The event's data made a query Prisma refuses; an envelope or JSON that does not parse.
  if (name === 'PrismaClientValidationError' || name === 'ZodError' || err instanceof SyntaxError) return 'poison';
  return 'unknown';
}
