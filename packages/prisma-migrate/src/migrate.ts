import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SchemaFilter } from '@prisma/schema-engine-wasm';
import { createMigrationAdapterFactory, createTemporaryDatabase, dropDatabase, ensureDatabaseExists, withClient } from './adapter';
import { type EngineSchema, withEngine } from './engine';
import { migrationDirName, migrationsDirFor, readMigrationsDir, writeMigration } from './migrations-dir';
import { parseDatabaseUrl, quoteIdent } from './url';

export interface MigrateOptions {
  /** Path to schema.prisma; migrations live in the `migrations` folder next to it. */
  readonly schemaPath: string;
  /**
   * PostgreSQL URL; `?schema=` selects the Postgres schema (default `public`). `createMigration`
   * and `checkMigrations` only use its server, credentials and schema: they diff in a
   * temporary `pm_shadow_*` database, never touching the named database.
   */
  readonly url: string;
  /** Receives the engine's log lines (JSON), for debugging. */
  readonly log?: (line: string) => void;
}

export interface DeployResult {
  /** Whether the database did not exist and was created. */
  readonly databaseCreated: boolean;
  /** Every migration found in the migrations folder. */
  readonly migrations: readonly string[];
  /** The migrations applied by this call (empty when the database was up to date). */
  readonly applied: readonly string[];
}

export interface DiffResult {
  /** True when the migrations produce exactly what schema.prisma describes. */
  readonly inSync: boolean;
  /** SQL that would bring the migrations up to schema.prisma (empty when in sync). */
  readonly sql: string;
}

export interface CreateResult extends DiffResult {
  /** Directory name of the new migration, e.g. `20250101120000_add_subnets`; absent when in sync. */
  readonly migrationName?: string;
  /** Path of the new migration.sql; absent when in sync. */
  readonly migrationPath?: string;
}

const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

/** Applies pending migrations (`prisma migrate deploy`), creating the database and schema if missing. */
export async function deployMigrations(options: MigrateOptions): Promise<DeployResult> {
  const url = parseDatabaseUrl(options.url);
  const schema = await readSchema(options.schemaPath);
  const migrationsList = await readMigrationsDir(migrationsDirFor(options.schemaPath));
  const databaseCreated = await ensureDatabaseExists(url);
  // The engine creates the Postgres schema when it connects, if missing, then records each
  // migration in <schema>._prisma_migrations itself: the rows are the ones native Prisma writes.
  const { appliedMigrationNames } = await withEngine(
    schema,
    createMigrationAdapterFactory(url),
    (engine) => engine.applyMigrations({ migrationsList, filters: NO_FILTERS }),
    options.log,
  );
  return {
    databaseCreated,
    migrations: migrationsList.migrationDirectories.map((dir) => dir.path),
    applied: appliedMigrationNames,
  };
}

/** Drops the URL's Postgres schema (all its tables and data, and its _prisma_migrations), then deploys. */
export async function resetDatabase(options: MigrateOptions): Promise<DeployResult> {
  const url = parseDatabaseUrl(options.url);
  if (!(await ensureDatabaseExists(url))) {
    await withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(url.schema)} CASCADE`));
  }
  return deployMigrations(options);
}

/** Diffs the migrations folder against schema.prisma (the SQL a new migration would contain). */
export async function diffMigrations(options: MigrateOptions): Promise<DiffResult> {
  const url = parseDatabaseUrl(options.url);
  const schema = await readSchema(options.schemaPath);
  const migrationsList = await readMigrationsDir(migrationsDirFor(options.schemaPath));
  // The engine replays the migrations in a shadow database. It also insists on a main database
  // (it creates the schema there on connect), so one scratch database serves as both.
  const scratch = await createTemporaryDatabase(url);
  try {
    const result = await withEngine(
      schema,
      createMigrationAdapterFactory(scratch, { shadow: scratch }),
      (engine) =>
        engine.diff({
          from: { tag: 'migrations', ...migrationsList },
          to: { tag: 'schemaDatamodel', files: [{ path: schema.path, content: schema.content }] },
          script: true,
          exitCode: true, // exitCode 2 when the diff is not empty
          filters: NO_FILTERS,
        }),
      options.log,
    );
    const inSync = result.exitCode === 0;
    return { inSync, sql: inSync ? '' : (result.stdout ?? '') };
  } finally {
    await dropDatabase(scratch);
  }
}

/** `checkMigrations` is what CI runs: the committed migrations must match schema.prisma. */
export const checkMigrations = diffMigrations;

/** Writes a new migration with the diff (`prisma migrate dev --create-only`); does nothing when in sync. */
export async function createMigration(options: MigrateOptions & { readonly name: string }): Promise<CreateResult> {
  const diff = await diffMigrations(options);
  if (diff.inSync) return diff;
  const dir = migrationsDirFor(options.schemaPath);
  const existing = (await readMigrationsDir(dir)).migrationDirectories.map((entry) => entry.path);
  const migrationName = migrationDirName(options.name, existing);
  const migrationPath = await writeMigration(dir, migrationName, diff.sql);
  return { ...diff, migrationName, migrationPath };
}

async function readSchema(schemaPath: string): Promise<EngineSchema> {
  const resolved = path.resolve(schemaPath);
  return { path: resolved, content: await readFile(resolved, 'utf8') };
}
