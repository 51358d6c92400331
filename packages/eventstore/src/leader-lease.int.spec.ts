import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Naming } from '@ncp/contracts';
import { testInfra, uniqueName } from '@ncp/testing';
import { LeaderLease, connectNats, leaseBucket, type NatsConnection } from './index';

/** A replica's view of the lease: when it led and when it stopped, as promises to wait on. */
class Replica {
  readonly journal: string[] = [];
  private waiters: { what: string; n: number; resolve: () => void }[] = [];
  readonly lease: LeaderLease;

  constructor(nc: NatsConnection, naming: Naming, holder: string, ttlSeconds: number) {
    this.lease = new LeaderLease(nc, naming, {
      key: 'svc',
      holder,
      ttlSeconds,
      onAcquired: async () => this.record('acquired'),
      onLost: async () => this.record('lost'),
    });
  }

  count(what: string): number {
    return this.journal.filter((j) => j === what).length;
  }

  until(what: string, n = 1): Promise<void> {
    if (this.count(what) >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ what, n, resolve }));
  }

  private record(what: string): void {
    this.journal.push(what);
    for (const w of this.waiters.filter((x) => this.count(x.what) >= x.n)) w.resolve();
  }
}

describe('leader lease', () => {
  let natsUrl: string;
  const connections: NatsConnection[] = [];
  const naming = new Naming({ prefix: uniqueName('lease') });
  const connection = async () => {
    const nc = await connectNats(natsUrl, 'lease-test');
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    natsUrl = (await testInfra()).natsUrl;
  });

  afterAll(async () => {
    const nc = await connection();
    await (await jetstreamManager(nc)).streams.delete(`KV_${leaseBucket(naming, 'svc')}`).catch(() => undefined);
    for (const c of connections) await c.close().catch(() => undefined);
  });

  it('has one holder; a holder that stops hands over, one that dies is replaced after the TTL, one that finds another holder stops', async () => {
    const a = new Replica(await connection(), naming, 'a', 1);
    const b = new Replica(await connection(), naming, 'b', 1);
    await a.lease.start();
    await b.lease.start();
    expect(a.lease.isLeader).toBe(true);
    expect(b.lease.isLeader).toBe(false);
    expect(b.journal).toEqual([]);

    // a clean stop deletes the key: b takes over at its next attempt
    await a.lease.stop();
    expect(a.journal).toEqual(['acquired', 'lost']);
    await b.until('acquired');
    expect(b.lease.isLeader).toBe(true);

    // b dies (its connection closes, nothing renews): c gets the lease once b's entry expires
    const cConnection = await connection();
    const c = new Replica(cConnection, naming, 'c', 1);
    await c.lease.start();
    expect(c.lease.isLeader).toBe(false);
    const bConnection = connections[1];
    await bConnection?.close();
    await c.until('acquired');

    // a leader that finds another holder in the key stops leading
    const kv = await new Kvm(await connection()).open(leaseBucket(naming, 'svc'));
    await kv.put('svc', 'someone-else');
    await c.until('lost');
    expect(c.lease.isLeader).toBe(false);
    // and takes the lease again once that one's entry expires
    await c.until('acquired', 2);
    await c.lease.stop();
    expect(c.journal).toEqual(['acquired', 'lost', 'acquired', 'lost']);
  });
});
