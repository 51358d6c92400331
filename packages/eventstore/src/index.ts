export type { Decider, SnapshotCodec } from '@ncp/contracts';
export * from './event-store';
export * from './keyed-mutex';
export * from './nats';
export * from './projection-runner';
export * from './reaction-runner';
export * from './repository';
export * from './snapshot-store';
