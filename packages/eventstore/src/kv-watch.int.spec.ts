import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Arrivals, testInfra, uniqueName } from '@ncp/testing';
import { KvWatch, connectNats, watchedKeys, type NatsConnection, type WatchedEntry } from './index';

/** The keys' values as the entries leave them. */
function stateOf(entries: readonly WatchedEntry[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of entries) {
    if (e.value === null) m.delete(e.key);
    else m.set(e.key, e.value);
  }
  return m;
}

describe('KV watch', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let kv: KV;
  const bucket = uniqueName('watch');
  const watches: KvWatch[] = [];

  beforeAll(async () => {
    nc = await connectNats((await testInfra()).natsUrl, 'kv-watch-test');
    jsm = await jetstreamManager(nc);
    kv = await new Kvm(nc).create(bucket, { history: 1 });
  });

  afterAll(async () => {
    for (const w of watches) w.stop();
    await jsm.streams.delete(`KV_${bucket}`);
    await nc.close();
  });

  const watch = async (keys: string, seen: Arrivals<WatchedEntry>, heartbeatMs?: number) => {
    const w = new KvWatch(nc, jsm, bucket, keys, seen.add, { heartbeatMs });
    watches.push(w);
    await w.start();
    return w;
  };

  it('lists the keys a new watch delivers before any change: each key once, deleted keys too', async () => {
    await kv.put('c.h1.l2port.p1', '1');
    await kv.put('c.h1.l2port.p1', '2');
    await kv.put('c.h1.l2port.p2', 'x');
    await kv.put('c.h1.l2port.p3', 'gone');
    await kv.delete('c.h1.l2port.p3');
    await kv.put('c.h2.l2port.p9', 'other host');
    expect([...(await watchedKeys(jsm, bucket, 'c.h1.>'))].sort()).toEqual(['c.h1.l2port.p1', 'c.h1.l2port.p2', 'c.h1.l2port.p3']);
    expect(await watchedKeys(jsm, bucket, 'c.h3.>')).toEqual(new Set());
    const seen = new Arrivals<WatchedEntry>();
    await watch('c.h1.>', seen);
    await seen.until((e) => e.pending === 0);
    expect(seen.items.map((e) => [e.key, e.value])).toEqual([
      ['c.h1.l2port.p1', '2'],
      ['c.h1.l2port.p2', 'x'],
      ['c.h1.l2port.p3', null],
    ]);
  });

  it("delivers each key's last value, then every change of its keys in order, and nothing of other keys", async () => {
    await kv.put('a.h1.router.r1', '1');
    await kv.put('a.h1.router.r1', '2');
    await kv.put('a.h1.router.r2', 'x');
    await kv.put('a.h2.router.r9', 'other host');
    const seen = new Arrivals<WatchedEntry>();
    await watch('a.h1.>', seen);
    await seen.until((e) => e.key === 'a.h1.router.r2');
    expect(seen.items.map((e) => [e.key, e.value])).toEqual([
      ['a.h1.router.r1', '2'],
      ['a.h1.router.r2', 'x'],
    ]);
    expect(seen.items.at(-1)?.pending).toBe(0);
    await kv.delete('a.h1.router.r1');
    await kv.put('a.h1.router.r3', 'y');
    await seen.until((e) => e.key === 'a.h1.router.r3');
    expect(seen.items.slice(2).map((e) => [e.key, e.value])).toEqual([
      ['a.h1.router.r1', null],
      ['a.h1.router.r3', 'y'],
    ]);
    expect(stateOf(seen.items)).toEqual(
      new Map([
        ['a.h1.router.r2', 'x'],
        ['a.h1.router.r3', 'y'],
      ]),
    );
  });

  it('goes on from its last revision when its consumer is lost, each change once', async () => {
    const seen = new Arrivals<WatchedEntry>();
    await watch('b.>', seen, 300);
    await kv.put('b.k1', '1');
    await seen.until((e) => e.key === 'b.k1');
    // the consumer gone as with its server: no heartbeat any more, nothing delivered
    for await (const c of jsm.consumers.list(`KV_${bucket}`))
      if (c.config.filter_subject === `$KV.${bucket}.b.>`) await jsm.consumers.delete(`KV_${bucket}`, c.name);
    await kv.put('b.k2', '2');
    await kv.delete('b.k1');
    await kv.put('b.k3', '3');
    await seen.until((e) => e.key === 'b.k3');
    expect(seen.items.map((e) => [e.key, e.value])).toEqual([
      ['b.k1', '1'],
      ['b.k2', '2'],
      ['b.k1', null],
      ['b.k3', '3'],
    ]);
    const revisions = seen.items.map((e) => e.revision);
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
  });
});
