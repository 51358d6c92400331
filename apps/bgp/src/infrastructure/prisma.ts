import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export const BGP_SCHEMA = 'bgp';
export type BgpPrisma = PrismaClient;
export type BgpTx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export function createPrisma(databaseUrl: string): PrismaClient {
  // search_path too: raw SQL (checkpoint locks, sweeper queries) names tables unqualified.
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: 10, options: `-c search_path=${BGP_SCHEMA}` }, { schema: BGP_SCHEMA });
  return new PrismaClient({ adapter });
}
