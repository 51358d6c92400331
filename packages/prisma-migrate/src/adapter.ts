import { randomBytes } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { DriverAdapterError, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { type DatabaseUrl, quoteIdent, withDatabase } from './url';

/** Prefix of the temporary databases created for diffs (shadow databases). */
export const SHADOW_DATABASE_PREFIX = 'pm_shadow_';

/** PostgreSQL's internal single-byte `"char"` type, and `text`. */
const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

export interface MigrationAdapterFactory extends SqlMigrationAwareDriverAdapterFactory {
  /** Disposes every connection still open (the engine need not dispose them), dropping temporary databases. */
  close(): Promise<void>;
}

export interface MigrationAdapterOptions {
  /**
   * Database the engine may use as its shadow database. Without it, each shadow database
   * is a fresh `pm_shadow_*` database on the same server, dropped when the engine is done.
   */
  shadow?: DatabaseUrl;
}

/**
 * The driver-adapter factory handed to the schema engine. It wraps `@prisma/adapter-pg`, with
 * fixes for what the migration engine needs that adapter-pg 7.10 does not provide:
 *  - one connection per database: the engine takes a session-level advisory lock, and
 *    expects the session to stay the same (native Prisma also uses a single connection);
 *  - `search_path` set to the URL's `?schema=` (the generated SQL names no schema, and native
 *    Prisma does the same on connect; adapter-pg's `schema` option only informs the engine);
 *  - migration scripts sent whole (adapter-pg splits them on every `;`, which breaks
 *    functions, string literals, and runs statements outside one implicit transaction);
 *  - columns of type `"char"` (e.g. pg_class.relkind, read by the engine's describer) read
 *    as text; adapter-pg rejects that type, which makes every diff fail;
 *  - a real shadow database (adapter-pg's `connectToShadowDb` ignores the shadow database
 *    name when configured with a connection string, and would use the main database).
 */
export function createMigrationAdapterFactory(url: DatabaseUrl, options: MigrationAdapterOptions = {}): MigrationAdapterFactory {
  const open = new Set<SqlDriverAdapter>();

  async function connectTo(target: DatabaseUrl, afterDispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
    const { pool, executeScript } = createPool(target);
    const adapter = await new PrismaPg(pool, { schema: target.schema }).connect();
    const disposeAdapter = adapter.dispose.bind(adapter);
    let disposed = false;
    adapter.executeScript = executeScript;
    adapter.dispose = async () => {
      if (disposed) return;
      disposed = true;
      open.delete(adapter);
      await disposeAdapter();
      await pool.end();
      await afterDispose?.();
    };
    open.add(adapter);
    return adapter;
  }

  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connectTo(url),
    async connectToShadowDb() {
      if (options.shadow) return connectTo(options.shadow);
      const shadow = await createTemporaryDatabase(url);
      try {
        return await connectTo(shadow, () => dropDatabase(shadow));
      } catch (error) {
        await dropDatabase(shadow);
        throw error;
      }
    },
    async close() {
      for (const adapter of [...open]) await adapter.dispose();
    },
  };
}

function createPool(url: DatabaseUrl): { pool: pg.Pool; executeScript: (script: string) => Promise<void> } {
  // libpq startup options: spaces separate arguments unless escaped with a backslash.
  const searchPath = `-c search_path=${quoteIdent(url.schema).replace(/[\\ ]/g, '\\$&')}`;
  const pool = new pg.Pool({
    connectionString: url.connectionString,
    options: url.options ? `${url.options} ${searchPath}` : searchPath,
    max: 1,
    idleTimeoutMillis: 0, // keep the session (and the engine's advisory lock) until the pool ends
  });
  pool.on('error', () => undefined); // a dropped idle connection surfaces on the next query instead

  const query = pool.query.bind(pool) as (config: pg.QueryConfig | string) => Promise<pg.QueryResult>;
  const executeScript = async (script: string) => {
    // A query without parameters uses the simple-query protocol: several statements in one
    // round trip, run by Postgres as one implicit transaction, as native Prisma does.
    await query(script).catch(rethrowAsDriverError);
  };
  const queryReadingCharAsText = async (config: pg.QueryConfig) => {
    const result = await query(config);
    for (const field of result.fields) {
      if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    }
    return result;
  };
  // adapter-pg calls pool.query(config) only, with a single statement.
  Object.assign(pool, { query: queryReadingCharAsText });
  return { pool, executeScript };
}

/** Turns a node-postgres error into the error shape the engine reports with its message. */
function rethrowAsDriverError(error: unknown): never {
  if (error instanceof pg.DatabaseError) {
    throw new DriverAdapterError({
      kind: 'postgres',
      code: error.code ?? 'N/A',
      severity: error.severity ?? 'N/A',
      message: error.message,
      detail: error.detail,
      column: error.column,
      hint: error.hint,
    });
  }
  throw error;
}

/** Runs `fn` with a plain connection to the database of `url`. */
export async function withClient<T>(url: DatabaseUrl, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url.connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs `fn` connected to the server's `postgres` maintenance database (to create and drop databases). */
function withMaintenanceClient<T>(url: DatabaseUrl, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(withDatabase(url, 'postgres'), fn);
}

/** Creates an empty `pm_shadow_*` database on the server of `url`. */
export async function createTemporaryDatabase(url: DatabaseUrl): Promise<DatabaseUrl> {
  const target = withDatabase(url, `${SHADOW_DATABASE_PREFIX}${randomBytes(8).toString('hex')}`);
  await withMaintenanceClient(url, (client) => client.query(`CREATE DATABASE ${quoteIdent(target.database)}`));
  return target;
}

export async function dropDatabase(url: DatabaseUrl): Promise<void> {
  await withMaintenanceClient(url, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(url.database)}`));
}

/** Creates the database of `url` unless it exists (as `prisma migrate deploy` does). Returns whether it did. */
export async function ensureDatabaseExists(url: DatabaseUrl): Promise<boolean> {
  const probe = new pg.Client({ connectionString: url.connectionString });
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if (!(error instanceof pg.DatabaseError && error.code === '3D000')) throw error; // 3D000: no such database
  } finally {
    await probe.end().catch(() => undefined);
  }
  return withMaintenanceClient(url, async (client) => {
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(url.database)}`);
      return true;
    } catch (error) {
      if (error instanceof pg.DatabaseError && error.code === '42P04') return false; // created concurrently
      throw error;
    }
  });
}
