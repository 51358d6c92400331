import { Pool, type PoolClient } from 'pg';

interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** `a ${x} b ${y}` -> `a $1 b $2`. */
const sqlText = (strings: TemplateStringsArray) => strings.reduce((text, s, i) => `${text}$${i}${s}`);

/**
 * The slice of a Prisma client the event store's SQL stores use (tagged-template raw SQL and
 * interactive transactions), over `pg`: package tests get real Postgres errors and real
 * rollbacks without a generated Prisma client of their own.
 */
export class PgSqlClient {
  private constructor(
    private readonly db: Queryable,
    private readonly pool: Pool | undefined,
  ) {}

  static connect(url: string): PgSqlClient {
    const pool = new Pool({ connectionString: url, max: 4 });
    const client = new PgSqlClient(pool, pool);
    pool.on('connect', () => (client.connections += 1));
    pool.on('remove', () => {
      client.connections -= 1;
      if (client.connections === 0) client.allClosed?.();
    });
    return client;
  }

  /** Connections of the pool not yet closed, and what waits for none to be left. */
  private connections = 0;
  private allClosed: (() => void) | undefined;

  async $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number> {
    return (await this.db.query(sqlText(strings), values)).rowCount ?? 0;
  }

  async $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T> {
    return (await this.db.query(sqlText(strings), values)).rows as T;
  }

  /** Statements without parameters (DDL in test set-ups). */
  async exec(text: string): Promise<void> {
    await this.db.query(text, []);
  }

  async $transaction<T>(fn: (tx: PgSqlClient) => Promise<T>): Promise<T> {
    if (!this.pool) throw new Error('no nested transactions');
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgSqlClient(client, undefined));
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /**
   * Resolves once every connection is closed. The pool's own `end` resolves when it has asked
   * them to close: a database dropped right after would terminate one still closing, and its
   * error would be nobody's (an uncaught exception in the test run).
   */
  async $disconnect(): Promise<void> {
    if (!this.pool) return;
    const closed = new Promise<void>((resolve) => (this.connections === 0 ? resolve() : (this.allClosed = resolve)));
    await this.pool.end();
    await closed;
  }
}
