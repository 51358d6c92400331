import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { DESIRED_KINDS, DESIRED_STATE_BUCKET, Naming, desiredKey, parseDesiredKey } from '@ncp/contracts';
import { testInfra, uniqueName } from '@ncp/testing';
import { DesiredStatePublisher, connectNats, readBucket, readBucketEntries, type DesiredScope, type NatsConnection } from './index';

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

  it('ends while keys are written to, with every key, one rewritten while the read runs too', async () => {
    // a heartbeat's pace, faster: kv.keys() and a read waiting for a pending count of 0 both
    // hung a few times in a hundred under this; a read stopping at the last message when it
    // began lost a key rewritten after it; the consumer's pending count said 0 before the
    // other key came in about 1 read in 100 (the first key delivered twice), so 300 reads
    await kv.put('row.h3.beat.a', '0');
    await kv.put('row.h3.beat.b', '0');
    let beats = 0;
    const writer = setInterval(() => {
      beats++;
      void kv.put(`row.h3.beat.${beats % 2 === 0 ? 'a' : 'b'}`, String(beats)).catch(() => undefined);
    }, 10);
    try {
      for (let i = 0; i < 300; i++) {
        const entries = await readBucketEntries(nc, bucket, '*.h3.>');
        expect([...entries.keys()].sort()).toEqual(['row.h3.beat.a', 'row.h3.beat.b']);
      }
    } finally {
      clearInterval(writer);
    }
    expect(beats).toBeGreaterThan(0);
    await kv.put('row.h4.l2port.p4', 'kept');
    const entry = (await readBucketEntries(nc, bucket, 'row.h4.>')).get('row.h4.l2port.p4');
    expect(entry).toEqual({ value: 'kept', revision: (await kv.get('row.h4.l2port.p4'))?.revision, created: expect.any(Date) });
  }, 120_000);
});

/**
 * The shared desired-state publisher with partitions (DHCP's, by network): a pass recomputes
 * the partitions it was told of and the entries outside every partition, leaves the others'
 * entries as they are, and recomputes everything when told nothing, after a failed pass, and
 * at start.
 */
describe('desired-state publisher with partitions', () => {
  const naming = new Naming({ prefix: uniqueName() });
  const dhcp = (network: string) => desiredKey('row-a', 'h1', DESIRED_KINDS.dhcp, network);
  /** outside every partition; its value is the pass's number, so a test knows which pass wrote */
  const PASS = desiredKey('row-a', 'h1', DESIRED_KINDS.ra, 'pass');
  let nc: NatsConnection;
  let kv: KV;
  let publisher: DesiredStatePublisher;
  /** the entries each partition should have now */
  const world = new Map<string, Map<string, string>>();
  const scopes: DesiredScope[] = [];
  let failNext = false;

  const compute = async (scope: DesiredScope): Promise<Map<string, string>> => {
    scopes.push(scope);
    if (failNext) {
      failNext = false;
      throw new Error('the projection could not be read');
    }
    const wanted = new Map<string, string>();
    for (const [partition, entries] of world) if (scope === 'all' || scope.has(partition)) for (const [k, v] of entries) wanted.set(k, v);
    wanted.set(PASS, String(scopes.length));
    return wanted;
  };

  const bucketState = async () => {
    const state: Record<string, string> = {};
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry && entry.operation === 'PUT') state[key] = entry.string();
    }
    return state;
  };
  /**
   * A read of the bucket that has not ended after 2 s is given up and the next one tried: on a
   * busy machine the client's key listing has hung on a consumer that never reported its end.
   */
  const bucketStateWithin = (ms: number) =>
    new Promise<Record<string, string>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading the bucket took more than ${ms} ms`)), ms);
      bucketState()
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  const settlesOn = (expected: Record<string, string>) =>
    vi.waitFor(async () => expect(await bucketStateWithin(2_000)).toEqual(expected), { timeout: 15_000, interval: 50 });

  beforeAll(async () => {
    nc = await connectNats((await testInfra()).natsUrl, 'desired-state-publisher-test');
    world.set('n1', new Map([[dhcp('n1'), 'n1 v1']]));
    world.set('n2', new Map([[dhcp('n2'), 'n2 v1']]));
    publisher = new DesiredStatePublisher(nc, naming, [DESIRED_KINDS.dhcp, DESIRED_KINDS.ra], compute, undefined, {
      partitionOf: (key) => (parseDesiredKey(key)?.kind === DESIRED_KINDS.dhcp ? parseDesiredKey(key)?.id : undefined),
    });
    await publisher.start();
    kv = await new Kvm(nc).open(naming.bucket(DESIRED_STATE_BUCKET));
  });

  afterAll(async () => {
    publisher.stop();
    await (await jetstreamManager(nc)).streams.delete(`KV_${naming.bucket(DESIRED_STATE_BUCKET)}`);
    await nc.close();
  });

  it('publishes everything at start', async () => {
    await settlesOn({ [dhcp('n1')]: 'n1 v1', [dhcp('n2')]: 'n2 v1', [PASS]: '1' });
    expect(scopes).toEqual(['all']);
  });

  it('recomputes only the partitions it is told of, and what lies outside every partition', async () => {
    world.set('n1', new Map([[dhcp('n1'), 'n1 v2']]));
    world.set('n2', new Map([[dhcp('n2'), 'n2 v2']]));
    publisher.schedule(['n1']);
    // n2 changed too, but nobody said so: its entry stays as published
    await settlesOn({ [dhcp('n1')]: 'n1 v2', [dhcp('n2')]: 'n2 v1', [PASS]: '2' });
    expect(scopes[1]).toEqual(new Set(['n1']));
  });

  it("deletes an entry its partition no longer has, never one of a partition out of the pass's scope", async () => {
    world.delete('n1');
    world.delete('n2');
    publisher.schedule(['n1', 'n3']);
    await settlesOn({ [dhcp('n2')]: 'n2 v1', [PASS]: '3' });
    expect(scopes[2]).toEqual(new Set(['n1', 'n3']));
  });

  it('recomputes everything when told of no partition', async () => {
    world.set('n1', new Map([[dhcp('n1'), 'n1 v3']]));
    publisher.schedule();
    await settlesOn({ [dhcp('n1')]: 'n1 v3', [PASS]: '4' });
    expect(scopes[3]).toBe('all');
  });

  it('tries a failed pass again on its own, recomputing everything', async () => {
    world.set('n2', new Map([[dhcp('n2'), 'n2 v4']]));
    failNext = true;
    publisher.schedule(['n1']);
    // the failed pass published nothing; the retry, with nothing scheduled since, recomputes n2 as well
    await settlesOn({ [dhcp('n1')]: 'n1 v3', [dhcp('n2')]: 'n2 v4', [PASS]: '6' });
    expect(scopes[4]).toEqual(new Set(['n1']));
    expect(scopes[5]).toBe('all');
  });

  describe('scheduleUnless', () => {
    // A pass's scope tells whether scheduleUnless scheduled one: `schedule()` makes it 'all'.
    it('runs no pass when the change leaves the published entries as they are, and asks with those entries', async () => {
      const seen: Record<string, string>[] = [];
      publisher.scheduleUnless((published) => {
        seen.push(Object.fromEntries(published));
        return true;
      });
      expect(seen).toEqual([{ [dhcp('n1')]: 'n1 v3', [dhcp('n2')]: 'n2 v4', [PASS]: '6' }]);
      world.set('n2', new Map([[dhcp('n2'), 'n2 v7']]));
      publisher.schedule(['n2']);
      await settlesOn({ [dhcp('n1')]: 'n1 v3', [dhcp('n2')]: 'n2 v7', [PASS]: '7' });
      expect(scopes.slice(6)).toEqual([new Set(['n2'])]);
    });

    it('recomputes everything when the change may alter an entry', async () => {
      publisher.scheduleUnless(() => false);
      await settlesOn({ [dhcp('n1')]: 'n1 v3', [dhcp('n2')]: 'n2 v7', [PASS]: '8' });
      expect(scopes[7]).toBe('all');
    });

    it('does not ask while a pass is due: its entries may be older than the change', async () => {
      publisher.schedule(['n1']);
      const asked = vi.fn(() => true);
      publisher.scheduleUnless(asked);
      expect(asked).not.toHaveBeenCalled();
      await settlesOn({ [dhcp('n1')]: 'n1 v3', [dhcp('n2')]: 'n2 v7', [PASS]: '9' });
      expect(scopes[8]).toBe('all');
    });

    it('keeps the partitions of a change it spares for the next pass', async () => {
      world.set('n2', new Map([[dhcp('n2'), 'n2 v10']]));
      publisher.scheduleUnless(() => true, ['n2']);
      world.set('n1', new Map([[dhcp('n1'), 'n1 v10']]));
      publisher.schedule(['n1']);
      await settlesOn({ [dhcp('n1')]: 'n1 v10', [dhcp('n2')]: 'n2 v10', [PASS]: '10' });
      expect(scopes[9]).toEqual(new Set(['n2', 'n1']));
    });
  });
});
