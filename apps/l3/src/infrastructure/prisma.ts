import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export const L3_SCHEMA = 'l3';
export type L3Prisma = PrismaClient;
export type L3Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** `schema`: another than the service's own only for a replay's scratch copy. */
export function createPrisma(databaseUrl: string, schema: string = L3_SCHEMA): PrismaClient {
  // search_path too: raw SQL (checkpoint locks, sweeper queries) names tables unqualified.
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: 10, options: `-c search_path=${schema}` }, { schema });
  return new PrismaClient({ adapter });
}
