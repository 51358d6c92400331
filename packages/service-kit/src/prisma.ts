import { PrismaPg } from '@prisma/adapter-pg';

/** A service's Prisma client class, generated per service from its own schema. */
type PrismaClientClass<C> = new (options: { adapter: PrismaPg; errorFormat: 'minimal' }) => C;

/** The transaction client a generated Prisma client hands to `$transaction(fn)`. */
export type PrismaTx<C extends { $transaction: (...args: never[]) => unknown }> = Parameters<Parameters<C['$transaction']>[0]>[0];

/**
 * `createPrisma(databaseUrl, schema?)` for a service: a client on its own Postgres schema, or on
 * another only for a replay's scratch copy.
 */
export function prismaFactory<C>(Client: PrismaClientClass<C>, ownSchema: string): (databaseUrl: string, schema?: string) => C {
  return (databaseUrl, schema = ownSchema) =>
    new Client({
      // search_path too: raw SQL (checkpoint locks, sweeper queries) names tables unqualified.
      adapter: new PrismaPg({ connectionString: databaseUrl, max: 10, options: `-c search_path=${schema}` }, { schema }),
      // Any other format captures a stack trace on every query, to point an error at its call
      // site in a message our logs do not need (2 % of a service's CPU when profiled).
      errorFormat: 'minimal',
    });
}
