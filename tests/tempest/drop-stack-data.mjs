// Removes what one harness run's stack left in the shared Postgres and NATS: its database
// and every JetStream stream of its NATS prefix (the event stream EVENTS_<prefix> and the
// KV buckets, streams KV_<name>_<prefix>). Only names carrying the run's own prefix go.
//   node drop-stack-data.mjs <postgres admin url> <database> <nats url> <prefix>
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';

const [adminUrl, database, natsUrl, prefix] = process.argv.slice(2);
if (!adminUrl || !database || !natsUrl || !prefix || !/^[A-Za-z0-9_-]+$/.test(prefix) || !/^[a-z0-9_]+$/.test(database)) {
  console.error('usage: drop-stack-data.mjs <postgres admin url> <database> <nats url> <prefix>');
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

const client = new pg.Client({ connectionString: adminUrl });
await client.connect();
try {
  await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
} finally {
  await client.end();
}
