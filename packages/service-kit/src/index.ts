export * from './config';
export * from './lifecycle';
export * from './service';
export * from './http';
export * from './prisma';
