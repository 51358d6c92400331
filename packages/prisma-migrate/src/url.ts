/**
 * A Prisma-style PostgreSQL connection URL, split into what node-postgres understands and
 * the Prisma-only `schema` query parameter (the Postgres schema a service owns).
 */
export interface DatabaseUrl {
  /** The URL without `schema` and `options`, suitable for node-postgres. */
  readonly connectionString: string;
  readonly database: string;
  /** Postgres schema from `?schema=`; `public` when absent, as in Prisma. */
  readonly schema: string;
  /** The URL's own libpq `options` parameter, if any (kept, and extended with search_path). */
  readonly options?: string;
}

export function parseDatabaseUrl(url: string): DatabaseUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('The database URL is not a valid URL.');
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new Error(`Only postgresql:// URLs are supported, got ${parsed.protocol}//...`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error('The database URL must name a database (postgresql://host:5432/<db>).');
  const schema = parsed.searchParams.get('schema') || 'public';
  const options = parsed.searchParams.get('options') ?? undefined;
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('options');
  return { connectionString: parsed.toString(), database, schema, ...(options ? { options } : {}) };
}

/** The same server, credentials and schema, but another database. */
export function withDatabase(url: DatabaseUrl, database: string): DatabaseUrl {
  const parsed = new URL(url.connectionString);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return { ...url, connectionString: parsed.toString(), database };
}

/** Double-quotes a Postgres identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
