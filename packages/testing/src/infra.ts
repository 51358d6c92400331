import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { Client } from 'pg';

/**
 * Real Postgres and NATS for integration tests. With a Docker engine (or
 * TESTCONTAINERS=1) they run in containers started by testcontainers; without one they
 * are the services named by DATABASE_URL / NATS_URL (defaults: the local ones). A
 * missing service is a failure, never a skip.
 */
export interface TestInfra {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  stop(): Promise<void>;
}

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

function dockerAvailable(): boolean {
  if (process.env.TESTCONTAINERS === '1') return true;
  if (process.env.TESTCONTAINERS === '0') return false;
  if (process.env.DOCKER_HOST) return true;
  return existsSync('/var/run/docker.sock');
}

let shared: Promise<TestInfra> | undefined;

/** One set of services per test process. */
export function testInfra(): Promise<TestInfra> {
  shared ??= dockerAvailable() ? startContainers() : useLocalServices();
  return shared;
}

async function useLocalServices(): Promise<TestInfra> {
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;
  await assertReachable('PostgreSQL', databaseUrl, 5432);
  await assertReachable('NATS', natsUrl, 4222);
  return { databaseUrl, natsUrl, stop: async () => undefined };
}

async function startContainers(): Promise<TestInfra> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { GenericContainer, Wait } = await import('testcontainers');
  const pg = await new PostgreSqlContainer('postgres:16-alpine').start();
  const nats = await new GenericContainer('nats:2.10-alpine')
    .withCommand(['-js', '-sd', '/data'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  return {
    databaseUrl: pg.getConnectionUri(),
    natsUrl: `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`,
    stop: async () => {
      await Promise.all([pg.stop(), nats.stop()]);
    },
  };
}

async function assertReachable(name: string, url: string, defaultPort: number): Promise<void> {
  const parsed = new URL(url.replace(/^nats:/, 'http:'));
  const host = parsed.hostname || '127.0.0.1';
  const port = Number(parsed.port || defaultPort);
  await new Promise<void>((resolve, reject) => {
    const socket = connectTcp({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`${name} is not reachable at ${host}:${port} (${why}); integration tests need it`));
    };
    socket.once('timeout', () => fail('timeout'));
    socket.once('error', (e) => fail(e.message));
  });
}

/** A short random token usable in subjects, stream, database and schema names. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh database on the test server (a copy of `template` if given), dropped by `drop()`. */
export async function createTestDatabase(baseUrl: string, prefix = 'ncp_test_', template?: string): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"${template === undefined ? '' : ` TEMPLATE "${template}"`}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
