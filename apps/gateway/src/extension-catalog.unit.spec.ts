import { describe, expect, it } from 'vitest';
import { ExtensionCatalog, fromAnyReplica } from './extension-catalog';

const ext = (alias: string) => ({ alias, name: alias, description: '', updated: '2026-01-01T00:00:00Z', links: [] });
const answer = (aliases: string[]) => new Response(JSON.stringify({ extensions: aliases.map(ext) }), { status: 200 });

/** A fetch whose answers the test gives out one at a time: each call waits until the test releases it. */
function heldFetch() {
  const calls: { url: string; token: string | undefined; answer: (r: Response | Error) => void }[] = [];
  const fetchFn = ((url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const headers = init.headers as Record<string, string>;
      calls.push({ url, token: headers['X-Auth-Token'], answer: (r) => (r instanceof Error ? reject(r) : resolve(r)) });
    })) as typeof fetch;
  return { calls, fetchFn };
}

function nth<T>(items: T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new Error(`no call ${i}: ${items.length} so far`);
  return item;
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('extension catalog', () => {
  it('merges the services’ lists by alias, sorted, and asks them with the caller’s token', async () => {
    const { calls, fetchFn } = heldFetch();
    const catalog = new ExtensionCatalog([['http://ipam:1'], ['http://l3:1']], { timeoutMs: 1000, fetchFn });
    const listed = catalog.list('tok');
    await settled();
    expect(calls.map((c) => [c.url, c.token])).toEqual([
      ['http://ipam:1/v2.0/extensions', 'tok'],
      ['http://l3:1/v2.0/extensions', 'tok'],
    ]);
    nth(calls, 0).answer(answer(['standard-attr-description', 'quotas']));
    nth(calls, 1).answer(answer(['router', 'quotas']));
    expect((await listed).map((e) => e.alias)).toEqual(['quotas', 'router', 'standard-attr-description']);
  });

  it('refreshes once for all the callers that ask meanwhile', async () => {
    const { calls, fetchFn } = heldFetch();
    const catalog = new ExtensionCatalog([['http://ipam:1']], { timeoutMs: 1000, fetchFn });
    const first = catalog.list('a');
    const second = catalog.list('b');
    await settled();
    expect(calls).toHaveLength(1);
    nth(calls, 0).answer(answer(['quotas']));
    expect(await second).toEqual(await first);
  });

  it('keeps serving the last list when a refresh fails, and fails while it has none', async () => {
    const { calls, fetchFn } = heldFetch();
    let now = 0;
    const stale: unknown[] = [];
    const catalog = new ExtensionCatalog([['http://ipam:1']], { timeoutMs: 1000, ttlMs: 100, fetchFn, now: () => now, onStale: (e) => stale.push(e) });

    const none = catalog.list('a');
    await settled();
    nth(calls, 0).answer(new Response('{}', { status: 503 }));
    await expect(none).rejects.toThrow(/answered 503/);

    const first = catalog.list('a');
    await settled();
    nth(calls, 1).answer(answer(['quotas']));
    expect((await first).map((e) => e.alias)).toEqual(['quotas']);

    now = 50;
    expect((await catalog.list('a')).map((e) => e.alias)).toEqual(['quotas']);
    expect(calls).toHaveLength(2);

    now = 150;
    const later = catalog.list('a');
    await settled();
    nth(calls, 2).answer(new Error('timed out'));
    expect((await later).map((e) => e.alias)).toEqual(['quotas']);
    expect(stale).toHaveLength(1);
  });

  it('asks the next replica when one refuses or does not answer within its time', async () => {
    const asked: string[] = [];
    const fetchFn = ((url: string, init: RequestInit) => {
      asked.push(url);
      if (url.startsWith('http://refusing:1')) return Promise.reject(new TypeError('fetch failed'));
      if (url.startsWith('http://hung:1'))
        return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new Error(`aborted: ${String(init.signal?.reason)}`))));
      return Promise.resolve(answer([]));
    }) as typeof fetch;
    const res = await fromAnyReplica(['http://refusing:1', 'http://hung:1', 'http://b:1'], '/healthz', {}, 20, fetchFn);
    expect(res.status).toBe(200);
    expect(asked).toEqual(['http://refusing:1/healthz', 'http://hung:1/healthz', 'http://b:1/healthz']);
    await expect(fromAnyReplica(['http://hung:1'], '/healthz', {}, 20, fetchFn)).rejects.toThrow(/timeout|aborted/i);
  });
});
