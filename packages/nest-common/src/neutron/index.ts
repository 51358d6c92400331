export * from './body';
export * from './errors';
export * from './extensions';
export * from './query';
export * from './resource';
export * from './request-context';
export * from './agent-wire';
