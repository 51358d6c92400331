import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Naming, type QuotaEvent, type RecordedEvent, type UsageEvent } from '@ncp/contracts';
import { applyEach, applyInOneBatch, dumpTables, prng, projectionDatabase, type ProjectionDatabase } from '@ncp/testing';
import { IPAM_SCHEMA, createPrisma, type IpamPrisma, type IpamTx } from '../infrastructure/prisma';
import { QuotaProjection } from './quota.projection';

/**
 * Usage events are folded set-wise in runs (`applyUsageRun`); the statements of each event
 * alone are the reference. Whatever the batches, the tables must be the same.
 */

const TABLES = ['quota_usage', 'quota_limits'];
const PROJECTS = ['p1', 'p2', 'p3'];
const KINDS = ['port', 'network', 'router'] as const;
const CONTEXTS = ['ipam', 'l3', 'sg'] as const;

function recorded(sequence: number, context: string, aggregate: string, projectId: string, event: UsageEvent | QuotaEvent): RecordedEvent {
  return {
    sequence,
    subject: `ev.${context}.${aggregate}.${projectId}`,
    envelope: {
      id: `e${sequence}`,
      schemaVersion: 1,
      aggregate,
      aggregateId: projectId,
      occurredAt: new Date(Date.UTC(2026, 11, 1, 0, 0, sequence)).toISOString(),
      correlationId: `c${sequence}`,
      causationId: null,
      projectId,
      actor: 'tester',
      ...event,
    },
  };
}

/**
 * Reservations, confirmations and releases of a small pool of ids by several projects, so that
 * the same id is reserved when counted already, confirmed by another project, released by a
 * project that does not count it, and counted again after its release; with a quota change now
 * and then, which ends a run.
 */
function usageStream(seed: number, length: number): RecordedEvent[] {
  const random = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const events: RecordedEvent[] = [];
  for (let sequence = 1; sequence <= length; sequence++) {
    const project = pick(PROJECTS);
    if (random() < 0.05) {
      events.push(recorded(sequence, 'ipam', 'quota', project, { type: 'QuotaLimitsSet', data: { limits: { port: Math.floor(random() * 100) } } }));
      continue;
    }
    const kind = pick(KINDS);
    const ids = [...new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, () => `${kind}-${Math.floor(random() * 12)}`))];
    const r = random();
    const event: UsageEvent =
      r < 0.35
        ? { type: 'UsageReserved', data: { kind, ids, at: '2026-12-01T00:00:00.000Z' } }
        : r < 0.7
          ? { type: 'UsageConfirmed', data: { kind, ids } }
          : { type: 'UsageReleased', data: { kind, ids } };
    events.push(recorded(sequence, pick(CONTEXTS), 'usage', project, event));
  }
  return events;
}

let db: ProjectionDatabase<IpamPrisma, IpamTx>;

beforeAll(async () => {
  db = await projectionDatabase('ipam', createPrisma, new QuotaProjection(new Naming({ prefix: 'ev' })), IPAM_SCHEMA);
});

afterAll(async () => {
  await db?.close();
});

describe('quota projection: usage events folded set-wise', () => {
  it('one event per transaction, all in one batch, and random batches give the same tables', async () => {
    const events = usageStream(3, 400);
    await applyEach(db.p, events);
    const oneByOne = await dumpTables(db.p, TABLES);
    await applyInOneBatch(db.p, events);
    expect(await dumpTables(db.p, TABLES)).toEqual(oneByOne);
    const random = prng(5);
    await db.client.$transaction((tx) => db.p.projection.reset(tx));
    for (let i = 0; i < events.length;) {
      const batch = events.slice(i, i + 1 + Math.floor(random() * 30));
      await db.client.$transaction((tx) => db.p.projection.applyBatch?.(tx, batch) ?? Promise.resolve());
      i += batch.length;
    }
    expect(await dumpTables(db.p, TABLES)).toEqual(oneByOne);
    // not equal by being empty: counted ids of every kind, pending and confirmed
    const rows = oneByOne.quota_usage?.map((r) => JSON.parse(r) as { kind: string; confirmed: boolean }) ?? [];
    expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(KINDS));
    expect(rows.some((r) => r.confirmed)).toBe(true);
    expect(rows.some((r) => !r.confirmed)).toBe(true);
    expect(oneByOne.quota_limits?.length).toBeGreaterThan(0);
  }, 120_000);

  it('a run keeps what each event alone keeps: a reservation does not take a counted id, a release by another project removes nothing', async () => {
    const events = [
      recorded(1, 'ipam', 'usage', 'p1', { type: 'UsageConfirmed', data: { kind: 'port', ids: ['a', 'b'] } }),
      recorded(2, 'ipam', 'usage', 'p2', { type: 'UsageReserved', data: { kind: 'port', ids: ['a', 'b', 'c'], at: '2026-12-01T00:00:00.000Z' } }),
      recorded(3, 'ipam', 'usage', 'p2', { type: 'UsageReleased', data: { kind: 'port', ids: ['b'] } }),
      recorded(4, 'ipam', 'usage', 'p1', { type: 'UsageReleased', data: { kind: 'port', ids: ['a'] } }),
      recorded(5, 'l3', 'usage', 'p2', { type: 'UsageReserved', data: { kind: 'port', ids: ['a'], at: '2026-12-01T00:00:00.000Z' } }),
      recorded(6, 'sg', 'usage', 'p3', { type: 'UsageConfirmed', data: { kind: 'port', ids: ['c'] } }),
    ];
    await applyInOneBatch(db.p, events);
    const rows = await db.client.quotaUsage.findMany({ orderBy: { id: 'asc' } });
    expect(rows).toEqual([
      { kind: 'port', id: 'a', projectId: 'p2', confirmed: false },
      { kind: 'port', id: 'b', projectId: 'p1', confirmed: true },
      { kind: 'port', id: 'c', projectId: 'p3', confirmed: true },
    ]);
  });
});
