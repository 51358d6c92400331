#!/usr/bin/env node
// @ts-check
// What the database and NATS clients cost a service's process, per operation, without any
// service: Node CPU (user + system, this process only) per projection-like transaction and per
// JetStream append, as the services configure their clients and as the libraries do by default.
//
//   node bench/clients/run.mjs [--transactions 2000] [--publishes 5000] [--rounds 5]
//
// Transactions: BEGIN, four parameterised SELECTs, COMMIT (the shape of a projection batch: a
// checkpoint claim and a few rows), through
//   - Prisma as the services make it (prismaFactory: adapter-pg, errorFormat 'minimal'),
//   - Prisma with the library's defaults (an Error, with its stack, captured per query),
//   - pg alone, a statement per round trip,
//   - pg alone, the six statements in one simple-protocol round trip.
// Appends: a JetStream publish (a request and its acknowledgement) to a memory stream, through
// connectNats (async traces off) and through the client's defaults.
// Each round runs every variant once, in turn, after a warm-up; the table shows each variant's
// median round. Uses DATABASE_URL and NATS_URL (default: the local services); the stream it
// makes is deleted at the end.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@ncp/eventstore';
import { intOption, parseBenchOptions } from '../lib/options.mjs';
import { machineSummary, runBench, saveResult } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../..');
const opts = parseBenchOptions(process.argv.slice(2), 'node bench/clients/run.mjs', {
  transactions: intOption('transactions per variant and round', 2000, 100),
  publishes: intOption('JetStream publishes per variant and round', 5000, 100),
  rounds: intOption('rounds (each runs every variant once; the median round is shown)', 5, 1),
});
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

// any service's generated client will do: the statements are raw; metadata's is the smallest
const { PrismaClient } = await import(path.join(REPO_ROOT, 'apps/metadata/dist/generated/prisma/client.js'));
const { createPrisma } = await import(path.join(REPO_ROOT, 'apps/metadata/dist/infrastructure/prisma.js'));

/**
 * CPU microseconds per operation of `n` runs of `op`.
 * @param {number} n
 * @param {() => Promise<unknown>} op
 */
async function cpuPerOp(n, op) {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await op();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};

/**
 * @param {Record<string, () => Promise<unknown>>} variants
 * @param {number} n
 */
async function rounds(variants, n) {
  for (const op of Object.values(variants)) await cpuPerOp(Math.ceil(n / 4), op);
  /** @type {Record<string, number[]>} */
  const seen = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < Number(opts.rounds); r++) for (const [name, op] of Object.entries(variants)) seen[name]?.push(await cpuPerOp(n, op));
  return Object.fromEntries(
    Object.entries(seen).map(([name, xs]) => [name, { median: Math.round(median(xs)), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)) }]),
  );
}

async function main() {
  const services = createPrisma(DATABASE_URL);
  const defaults = new PrismaClient({ adapter: new PrismaPg({ connectionString: DATABASE_URL, max: 10 }) });
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 10 });
  /** @param {any} db */
  const prismaTx = (db) => () =>
    db.$transaction(async (/** @type {any} */ tx) => {
      for (let i = 1; i <= 4; i++) await tx.$queryRaw`SELECT ${i}::int AS n`;
    });
  const pgTx = async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      for (let i = 1; i <= 4; i++) await c.query('SELECT $1::int AS n', [i]);
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  };
  const pgOneTrip = async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN; SELECT 1::int AS n; SELECT 2::int AS n; SELECT 3::int AS n; SELECT 4::int AS n; COMMIT');
    } finally {
      c.release();
    }
  };
  const transactions = await rounds(
    {
      'Prisma, as the services make it': prismaTx(services),
      'Prisma, library defaults': prismaTx(defaults),
      'pg, a statement per round trip': pgTx,
      'pg, one round trip': pgOneTrip,
    },
    Number(opts.transactions),
  );
  await Promise.all([services.$disconnect(), defaults.$disconnect(), pool.end()]);

  const servicesNc = await connectNats(NATS_URL, 'bench-clients');
  const defaultNc = await connect({ servers: NATS_URL.replace(/^nats:\/\//, '').split(',') });
  const jsm = await jetstreamManager(defaultNc);
  const stream = `BENCH_CLIENTS_${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: /** @type {any} */ ('memory') });
  let appends;
  try {
    const publish = (/** @type {import('@nats-io/nats-core').NatsConnection} */ nc) => {
      const js = jetstream(nc);
      return () => js.publish(`${stream}.e`, 'x');
    };
    appends = await rounds({ 'connectNats (no async traces)': publish(servicesNc), 'client defaults': publish(defaultNc) }, Number(opts.publishes));
  } finally {
    await jsm.streams.delete(stream);
    await Promise.all([servicesNc.close(), defaultNc.close()]);
  }

  const result = { at: new Date().toISOString(), machine: machineSummary(), rounds: Number(opts.rounds), transactions, appends };
  const rows = (/** @type {Record<string, { median: number, min: number, max: number }>} */ t) =>
    Object.entries(t).map(([name, v]) => `  ${name.padEnd(34)} ${String(v.median).padStart(6)} µs  (rounds ${v.min} to ${v.max})`);
  console.log(
    [
      `Node CPU per transaction (BEGIN, 4 SELECTs, COMMIT), median of ${opts.rounds} rounds of ${opts.transactions}:`,
      ...rows(transactions),
      `Node CPU per JetStream publish, median of ${opts.rounds} rounds of ${opts.publishes}:`,
      ...rows(appends),
    ].join('\n'),
  );
  saveResult(HERE, result);
}

runBench(main);
