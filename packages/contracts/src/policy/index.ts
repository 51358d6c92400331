export * from './policy';
export * from './rules';
export * from './rbac';
