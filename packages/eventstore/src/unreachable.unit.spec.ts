import { describe, expect, it } from 'vitest';
import { ClosedConnectionError, NoRespondersError, PermissionViolationError, RequestError, TimeoutError } from '@nats-io/nats-core';
import { ConflictError, UnavailableError } from '@ncp/contracts';
import { unreachable } from './unreachable';

describe('a request to another service that got no answer', () => {
  it.each([
    ['no responders', new RequestError('no responders', { cause: new NoRespondersError('cmd.ipam.create_port') }), /IPAM is not reachable \(create_port\)/],
    ['no responders, bare', new NoRespondersError('cmd.ipam.create_port'), /is not reachable/],
    ['a timeout', new TimeoutError(), /IPAM did not answer in time \(create_port\)/],
    ['a timeout inside a request error', new RequestError('timeout', { cause: new TimeoutError() }), /did not answer in time/],
    ['a closed connection', new ClosedConnectionError(), /is not reachable/],
  ])('%s is a 503 to retry', (_what, error, message) => {
    const mapped = unreachable('IPAM', 'create_port', error);
    expect(mapped).toBeInstanceOf(UnavailableError);
    expect((mapped as UnavailableError).message).toMatch(message);
  });

  it("passes anything else on as it is (the other service's refusals, bugs)", () => {
    const refusal = new ConflictError('IPAM.IpAddressGenerationFailure', 'no more addresses');
    const bug = new TypeError('x is undefined');
    expect(unreachable('IPAM', 'create_port', refusal)).toBe(refusal);
    expect(unreachable('IPAM', 'create_port', bug)).toBe(bug);
    // a request this NATS user may not send (infra/nats/auth.conf): the deployment's fault, not a retry
    const refused = new RequestError('refused', { cause: new PermissionViolationError('Permissions Violation', 'publish', 'cmd.bgp.x') });
    expect(unreachable('IPAM', 'create_port', refused)).toBe(refused);
  });
});
