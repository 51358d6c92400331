import { prismaFactory, type PrismaTx } from '@ncp/service-kit';
import { PrismaClient } from '../generated/prisma/client';

export const BGP_SCHEMA = 'bgp';
export type BgpPrisma = PrismaClient;
export type BgpTx = PrismaTx<PrismaClient>;
export const createPrisma = prismaFactory(PrismaClient, BGP_SCHEMA);
