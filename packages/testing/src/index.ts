export * from './decider-spec';
export * from './infra';
export * from './stack';
export * from './netns';
export * from './dhcp-client';
export * from './pg-sql';
export * from './fact-stream';
export * from './prng';
