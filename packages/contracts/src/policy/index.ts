export * from './policy';
export * from './rules';
