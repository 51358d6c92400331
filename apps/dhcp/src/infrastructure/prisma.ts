import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export const DHCP_SCHEMA = 'dhcp';
export type DhcpPrisma = PrismaClient;
export type DhcpTx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/** `schema`: another than the service's own only for a replay's scratch copy. */
export function createPrisma(databaseUrl: string, schema: string = DHCP_SCHEMA): PrismaClient {
  // search_path too: raw SQL (checkpoint locks, sweeper queries) names tables unqualified.
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: 10, options: `-c search_path=${schema}` }, { schema });
  return new PrismaClient({ adapter });
}
