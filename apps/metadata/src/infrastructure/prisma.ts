import { prismaFactory, type PrismaTx } from '@ncp/service-kit';
import { PrismaClient } from '../generated/prisma/client';

export const METADATA_SCHEMA = 'metadata';
export type MetadataPrisma = PrismaClient;
export type MetadataTx = PrismaTx<PrismaClient>;
export const createPrisma = prismaFactory(PrismaClient, METADATA_SCHEMA);
