export * from './reducer';
export * from './prisma-adapter';
