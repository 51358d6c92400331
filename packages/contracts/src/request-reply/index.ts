export * from './admin';
export * from './command';
export * from './ipam';
export * from './sg';
