import { describe, expect, it } from 'vitest';
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
        { stage: 'stream', parts: ['event stream'] },
        { stage: 'watchers', parts: ['watcher'] },
        { stage: 'projections', parts: ['projection kittest'] },
        { stage: 'admin', parts: ['admin responder'] },
        { stage: 'publishers', parts: ['publisher'] },
        { stage: 'timers', parts: ['sweep'] },
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
});
