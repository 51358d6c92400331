import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm, type KV } from '@nats-io/kv';
import { testInfra, uniqueName } from '@ncp/testing';
import { connectNats, readBucket, type NatsConnection } from './index';

describe('readBucket: a KV bucket in one pass over its stream', () => {
  let nc: NatsConnection;
  let kv: KV;
  const bucket = uniqueName('kv');

  beforeAll(async () => {
    nc = await connectNats((await testInfra()).natsUrl, 'read-bucket-test');
    kv = await new Kvm(nc).create(bucket, { history: 1 });
  });

  afterAll(async () => {
    await kv.destroy();
    await nc.close();
  });

  it('returns the last value of every live key that matches, and ends', async () => {
    expect(await readBucket(nc, bucket, '*.*.l2port.*')).toEqual(new Map());
    for (let i = 0; i < 5; i++) await kv.put('row.h1.l2port.p1', `v${i}`);
    await kv.put('row.h1.l2port.p2', 'gone');
    await kv.put('row.h2.l2port.p3', 'kept');
    await kv.delete('row.h1.l2port.p2');
    for (let i = 0; i < 3; i++) await kv.put('row.h1.router.r1', `r${i}`);
    expect(await readBucket(nc, bucket, '*.*.l2port.*')).toEqual(
      new Map([
        ['row.h1.l2port.p1', 'v4'],
        ['row.h2.l2port.p3', 'kept'],
      ]),
    );
    expect(await readBucket(nc, bucket, '*.*.router.*')).toEqual(new Map([['row.h1.router.r1', 'r2']]));
  });
});
