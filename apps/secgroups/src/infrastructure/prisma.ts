import { prismaFactory, type PrismaTx } from '@ncp/service-kit';
import { PrismaClient } from '../generated/prisma/client';

export const SECGROUPS_SCHEMA = 'secgroups';
export type SecgroupsPrisma = PrismaClient;
export type SecgroupsTx = PrismaTx<PrismaClient>;
export const createPrisma = prismaFactory(PrismaClient, SECGROUPS_SCHEMA);
