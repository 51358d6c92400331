export * from './events';
export * from './scheduling';
