import { ClosedConnectionError, DrainingConnectionError, NoRespondersError, PermissionViolationError, RequestError, TimeoutError } from '@nats-io/nats-core';
import { UnavailableError } from '@ncp/contracts';

/**
 * A request to another service that got no answer (nobody subscribed, no reply in time, the
 * connection closing) as a 503 the client may retry; anything else is passed on as it is.
 */
export function unreachable(service: string, verb: string, e: unknown): unknown {
  const noAnswer =
    // refused by the server (this NATS user may not ask that): a fault of the deployment, not a 503 to retry
    (e instanceof RequestError && !(e.cause instanceof PermissionViolationError)) ||
    e instanceof NoRespondersError ||
    e instanceof TimeoutError ||
    e instanceof ClosedConnectionError ||
    e instanceof DrainingConnectionError;
  if (!noAnswer) return e;
  const why = e instanceof TimeoutError || (e instanceof RequestError && e.cause instanceof TimeoutError) ? 'did not answer in time' : 'is not reachable';
  return new UnavailableError('API.ServiceUnavailable', `${service} ${why} (${verb}); try again later.`);
}
