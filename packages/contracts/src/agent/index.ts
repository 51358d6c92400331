export * from './desired-state';
export * from './events';
