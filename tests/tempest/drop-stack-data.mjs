// Removes what one harness run's stack left in the shared Postgres and NATS: its databases
// (the stack's and Keystone's) and every JetStream stream of its NATS prefix (the event stream
// EVENTS_<prefix> and the KV buckets, streams KV_<name>_<prefix>). Only names carrying the
// run's own prefix go. With --create, makes the one database named instead (Keystone's).
//   node drop-stack-data.mjs <postgres admin url> <database>[,<database>...] <nats url> <prefix>
//   node drop-stack-data.mjs --create <postgres admin url> <database>
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';

const DATABASE = /^[a-z0-9_]+$/;

async function onServer(adminUrl, queries) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const q of queries) await client.query(q);
  } finally {
    await client.end();
  }
}

if (process.argv[2] === '--create') {
  const [adminUrl, database] = process.argv.slice(3);
  if (!adminUrl || !database || !DATABASE.test(database)) {
    console.error('usage: drop-stack-data.mjs --create <postgres admin url> <database>');
    process.exit(2);
  }
  await onServer(adminUrl, [`CREATE DATABASE "${database}"`]);
  process.exit(0);
}

const [adminUrl, databaseList, natsUrl, prefix] = process.argv.slice(2);
const databases = (databaseList ?? '').split(',');
if (!adminUrl || !natsUrl || !prefix || !/^[A-Za-z0-9_-]+$/.test(prefix) || !databases.every((d) => DATABASE.test(d))) {
  console.error('usage: drop-stack-data.mjs <postgres admin url> <database>[,<database>...] <nats url> <prefix>');
  process.exit(2);
}

const nc = await connect({ servers: natsUrl.replace(/^nats:\/\//, '') });
try {
  const jsm = await jetstreamManager(nc);
  const names = [];
  for await (const name of jsm.streams.names()) names.push(name);
  for (const name of names.filter((n) => n === `EVENTS_${prefix}` || (n.startsWith('KV_') && n.endsWith(`_${prefix}`)))) {
    await jsm.streams.delete(name);
  }
} finally {
  await nc.close();
}

await onServer(
  adminUrl,
  databases.map((d) => `DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`),
);
