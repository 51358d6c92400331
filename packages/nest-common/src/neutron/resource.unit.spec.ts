import { HttpException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { NeutronExceptionFilter } from './errors';
import { ApiSupport, READ_YOUR_WRITES_TIMEOUT_MS, ReadModel, stringAttr, type ResourceReader } from './resource';

/** A projection that never gets there: waitFor runs out of time at once, saying how long it was given. */
class LaggingProjection {
  readonly timeouts: (number | undefined)[] = [];
  async waitFor(sequence: number, timeoutMs?: number): Promise<void> {
    this.timeouts.push(timeoutMs);
    throw new Error(`projection did not reach ${sequence} within ${timeoutMs} ms`);
  }
}

const reader: ResourceReader<{ id: string }, null> = {
  spec: { singular: 'widget', collection: 'widgets', attributes: { id: stringAttr('id') } },
  path: 'widgets',
  notFound: (id) => ({ type: 'WidgetNotFound', message: `Widget ${id} could not be found.` }),
  defaultSort: [],
  visibleTo: () => ({}),
  findMany: async () => [],
  toWire: (row) => row,
};

/** What the HTTP edge answers for an error thrown by a controller. */
function answer(e: unknown): { status: number; body: unknown } {
  let status = 0;
  let body: unknown;
  const res = {
    status(code: number) {
      status = code;
      return res;
    },
    json(b: unknown) {
      body = b;
    },
  };
  new NeutronExceptionFilter().catch(e, { switchToHttp: () => ({ getResponse: () => res }) } as never);
  return { status, body };
}

describe('ApiSupport: read your writes', () => {
  const meta = { now: '2026-01-01T00:00:00Z', correlationId: 'c', causationId: null, projectId: 'p', actor: 'a', isAdmin: true };

  it('answers a stored write the projection has not shown in time 503, with its id, never 500', async () => {
    const projection = new LaggingProjection();
    const api = new ApiSupport(new ReadModel(null, undefined), projection, { defaultProjectId: 'p', defaultRoles: [] });
    const written = { id: 'w-1', sequence: 42 };
    for (const write of [api.show(reader, written, meta), api.settled(written)]) {
      const error = await write.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HttpException);
      const { status, body } = answer(error);
      expect(status).toBe(503);
      expect(body).toEqual({
        NeutronError: {
          type: 'HTTPServiceUnavailable',
          message: expect.stringMatching(/w-1 was stored .*Do not send the request again/) as string,
          detail: 'id w-1, event stream sequence 42',
        },
      });
    }
    // and it waited longer than the 10 s that timed out under load
    expect(projection.timeouts).toEqual([READ_YOUR_WRITES_TIMEOUT_MS, READ_YOUR_WRITES_TIMEOUT_MS]);
  });
});
