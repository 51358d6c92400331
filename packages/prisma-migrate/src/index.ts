export {
  checkMigrations,
  createMigration,
  deployMigrations,
  diffMigrations,
  resetDatabase,
  type CreateResult,
  type DeployResult,
  type DiffResult,
  type MigrateOptions,
} from './migrate';
export { parseDatabaseUrl, type DatabaseUrl } from './url';
export { SHADOW_DATABASE_PREFIX } from './adapter';
