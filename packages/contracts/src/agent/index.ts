export * from './desired-state';
export * from './events';
export * from './scheduling';
