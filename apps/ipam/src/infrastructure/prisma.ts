import { prismaFactory, type PrismaTx } from '@ncp/service-kit';
import { PrismaClient } from '../generated/prisma/client';

export const IPAM_SCHEMA = 'ipam';
export type IpamPrisma = PrismaClient;
export type IpamTx = PrismaTx<PrismaClient>;
export const createPrisma = prismaFactory(PrismaClient, IPAM_SCHEMA);
