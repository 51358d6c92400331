export * from './events';
export * from './usage.decider';
