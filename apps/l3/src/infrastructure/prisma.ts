import { prismaFactory, type PrismaTx } from '@ncp/service-kit';
import { PrismaClient } from '../generated/prisma/client';

export const L3_SCHEMA = 'l3';
export type L3Prisma = PrismaClient;
export type L3Tx = PrismaTx<PrismaClient>;
export const createPrisma = prismaFactory(PrismaClient, L3_SCHEMA);
