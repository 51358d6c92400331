export * from './config';
export * from './health';
export * from './logger';
export * from './metrics';
export * from './neutron';
export * from './service-app';
export * from './lifecycle';
export * from './openapi';
