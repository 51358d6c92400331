export * from './agent';
export * from './api-routes';
export * from './decider';
export * from './envelope';
export * from './errors';
export * from './event-registry';
export * from './subjects';
export * from './ipam';
