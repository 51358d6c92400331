import { prismaFactory, type PrismaTx } from '@ncp/service-kit';
import { PrismaClient } from '../generated/prisma/client';

export const DHCP_SCHEMA = 'dhcp';
export type DhcpPrisma = PrismaClient;
export type DhcpTx = PrismaTx<PrismaClient>;
export const createPrisma = prismaFactory(PrismaClient, DHCP_SCHEMA);
