import { describe, expect, it, vi } from 'vitest';
import { type RecordedEvent } from '@ncp/contracts';
import { type SqlClient } from '@ncp/eventstore';
import { loadConfig } from '@ncp/nest-common';
import { testInfra, uniqueName } from '@ncp/testing';
import { httpPort, serviceConfigSchema } from './config';
import { defineService, type ServiceDb } from './service';

/** A database that refuses every query (a projection cannot read its checkpoint), and says when it is closed. */
function refusingDb() {
  const refuse = () => Promise.reject(new Error('database refuses'));
  const db = {
    disconnected: false,
    $executeRaw: refuse,
    $queryRaw: refuse,
    $executeRawUnsafe: refuse,
    $queryRawUnsafe: refuse,
    $transaction: refuse,
    $disconnect: async () => {
      db.disconnected = true;
    },
  };
  return db;
}

/** A database with nothing in it: a projection's checkpoint reads 0, nothing is parked. */
function emptyDb() {
  return {
    $executeRaw: async () => 0,
    $queryRaw: async () => [],
    $executeRawUnsafe: async () => 0,
    $queryRawUnsafe: async () => [],
    $transaction: async () => undefined,
    $disconnect: async () => undefined,
  } as unknown as ServiceDb;
}

const configSchema = serviceConfigSchema.extend({ PORT: httpPort(9799) });

function declare(db: ServiceDb, journal: string[]) {
  return defineService({
    name: 'kittest',
    config: (env) => loadConfig(configSchema, env),
    database: { schema: 'kittest', connect: () => db },
    events: [],
    histories: [],
    parts: ({ naming, project, watch, publish, every }) => {
      const watcher = watch({ start: () => void journal.push('start watcher'), stop: () => void journal.push('stop watcher') }, 'watcher');
      const projection = project(() => ({
        name: 'kittest',
        filter: naming.eventsOfContext('kittest'),
        apply: async (_tx: SqlClient, _e: RecordedEvent) => undefined,
        reset: async () => undefined,
      }));
      publish({ start: () => void journal.push('start publisher'), stop: () => void journal.push('stop publisher') }, 'publisher');
      every({ name: 'sweep', seconds: 60, now: true, run: () => void journal.push('sweep') });
      return { watcher, projection };
    },
    http: { extensions: [], controllers: [], openapi: { title: 'kit test', description: 'kit test' } },
  });
}

describe('a declared service', () => {
  it("lists its parts in start order, the kit's among them", async () => {
    const infra = await testInfra();
    const db = refusingDb();
    const definition = declare(db, []);
    const service = await definition.create(definition.declaration.config({ NATS_URL: infra.natsUrl, NATS_PREFIX: uniqueName('kit'), LOG_LEVEL: 'silent' }));
    try {
      expect(service.plan()).toEqual([
        { stage: 'connections', parts: ['postgres', 'nats'] },
        { stage: 'stream', parts: ['event stream', 'shared buckets'] },
        { stage: 'watchers', parts: ['watcher'] },
        { stage: 'projections', parts: ['projection kittest'] },
        { stage: 'admin', parts: ['admin responder'] },
        { stage: 'timers', parts: ['leader lease'] },
        // run by the replica that holds the lease
        { stage: 'leader publishers', parts: ['publisher'] },
        { stage: 'leader timers', parts: ['sweep'] },
      ]);
      expect(service.projections).toEqual([service.projection]);
    } finally {
      await service.stop();
    }
    // never started, yet closed
    expect(db.disconnected).toBe(true);
    expect(service.nc.isClosed()).toBe(true);
  });

  it('whose projection cannot start stops what had started, in reverse, closes its connections and throws', async () => {
    const infra = await testInfra();
    const db = refusingDb();
    const journal: string[] = [];
    const definition = declare(db, journal);
    const service = await definition.create(definition.declaration.config({ NATS_URL: infra.natsUrl, NATS_PREFIX: uniqueName('kit'), LOG_LEVEL: 'silent' }));
    const stream = service.store;

    await expect(service.start()).rejects.toThrow('database refuses');
    // the stream had been made and the watcher started; the publisher and the sweep never ran
    expect(journal).toEqual(['start watcher', 'stop watcher']);
    expect(db.disconnected).toBe(true);
    expect(service.nc.isClosed()).toBe(true);

    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: infra.natsUrl });
    const { jetstreamManager } = await import('@nats-io/jetstream');
    await (await jetstreamManager(nc)).streams.delete(stream.streamName);
    await nc.close();
  });

  it('runs its leader parts on one replica at a time: stopping that one hands them to the other', async () => {
    const infra = await testInfra();
    const prefix = uniqueName('kit');
    const journal: string[] = [];
    const replica = (id: string) =>
      defineService({
        name: 'kittest',
        config: (env) => loadConfig(configSchema, env),
        database: { schema: 'kittest', connect: () => emptyDb() },
        events: [],
        histories: [],
        parts: ({ naming, project, publish }) => {
          project(() => ({ name: 'kittest', filter: naming.eventsOfContext('kittest'), apply: async () => undefined, reset: async () => undefined }));
          publish({ start: () => void journal.push(`start ${id}`), stop: () => void journal.push(`stop ${id}`) }, 'publisher');
          return {};
        },
        http: { extensions: [], controllers: [], openapi: { title: 'kit test', description: 'kit test' } },
      });
    const env = (id: string) => ({ NATS_URL: infra.natsUrl, NATS_PREFIX: prefix, LOG_LEVEL: 'silent', INSTANCE_ID: id, LEADER_LEASE_SECONDS: '1' });
    const a = await replica('a').create(replica('a').declaration.config(env('a')));
    const b = await replica('b').create(replica('b').declaration.config(env('b')));
    try {
      await a.start();
      await b.start();
      expect(journal).toEqual(['start a']);
      expect([a.lease.isLeader, b.lease.isLeader]).toEqual([true, false]);
      await a.stop();
      await vi.waitFor(() => expect(journal).toEqual(['start a', 'stop a', 'start b']), { timeout: 15_000, interval: 50 });
      expect(b.lease.isLeader).toBe(true);
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(journal).toEqual(['start a', 'stop a', 'start b', 'stop b']);
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: infra.natsUrl });
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    for (const stream of [a.store.streamName, `KV_ncp_leases_kittest_${prefix}`, `KV_ncp_desired_${prefix}`, `KV_ncp_agents_${prefix}`])
      await jsm.streams.delete(stream);
    await nc.close();
  });
});
