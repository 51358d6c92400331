#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMigration, deployMigrations, diffMigrations, type MigrateOptions, resetDatabase } from './migrate';

const USAGE = `Usage: ncp-migrate <command> [--schema prisma/schema.prisma] [--url <postgres url>] [options]

Commands:
  deploy   Apply pending migrations (creates the database and the Postgres schema if missing)
  create   Write prisma/migrations/<timestamp>_<name>/migration.sql with the diff between
           the migrations and schema.prisma (needs --name); does nothing when they match
  check    Exit 2 and print the SQL when the migrations do not match schema.prisma
  reset    Drop the URL's Postgres schema (all its data), then deploy

Options:
  --schema <path>  Prisma schema; migrations are read from the migrations folder next to it
                   (default: prisma/schema.prisma)
  --url <url>      postgresql://user@host:5432/db?schema=<schema> (default: $DATABASE_URL).
                   create and check only use its server and schema: they work in a temporary
                   pm_shadow_* database that is dropped afterwards
  --db-schema <s>  Postgres schema to use, overriding the URL's ?schema= (lets services
                   share one DATABASE_URL and each name its own schema)
  --name <name>    Migration name (create)
  --verbose        Print the schema engine's log to stderr
  -h, --help       Show this help

Exit codes: 0 success, 1 error, 2 check found a difference.`;

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        schema: { type: 'string', default: path.join('prisma', 'schema.prisma') },
        url: { type: 'string' },
        'db-schema': { type: 'string' },
        name: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}\n`);
    return 1;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    (values.help ? io.out : io.err)(`${USAGE}\n`);
    return values.help ? 0 : 1;
  }
  const baseUrl = values.url ?? io.env.DATABASE_URL;
  if (!baseUrl) {
    io.err('No database URL: pass --url or set DATABASE_URL.\n');
    return 1;
  }
  let url = baseUrl;
  const dbSchema = values['db-schema'];
  if (dbSchema !== undefined) {
    const u = new URL(baseUrl);
    u.searchParams.set('schema', dbSchema);
    url = u.toString();
  }
  const options: MigrateOptions = {
    schemaPath: values.schema,
    url,
    ...(values.verbose ? { log: (line: string) => io.err(`${line}\n`) } : {}),
  };

  try {
    switch (command) {
      case 'deploy':
      case 'reset': {
        const result = command === 'deploy' ? await deployMigrations(options) : await resetDatabase(options);
        if (result.databaseCreated) io.out('Created the database.\n');
        io.out(`${result.migrations.length} migration(s) found in ${path.join(path.dirname(values.schema), 'migrations')}\n`);
        io.out(result.applied.length ? `Applied:\n${result.applied.map((name) => `  ${name}\n`).join('')}` : 'No pending migrations to apply.\n');
        return 0;
      }
      case 'create': {
        if (!values.name) {
          io.err('create needs --name <name>.\n');
          return 1;
        }
        const result = await createMigration({ ...options, name: values.name });
        io.out(
          result.migrationPath
            ? `Created ${path.relative(process.cwd(), result.migrationPath)}\n`
            : 'No changes: the migrations already match schema.prisma; no migration created.\n',
        );
        return 0;
      }
      case 'check': {
        const result = await diffMigrations(options);
        if (result.inSync) {
          io.out('The migrations match schema.prisma.\n');
          return 0;
        }
        io.err('The migrations do not match schema.prisma. Run `ncp-migrate create --name <name>`; missing SQL:\n\n');
        io.out(result.sql.endsWith('\n') ? result.sql : `${result.sql}\n`);
        return 2;
      }
      default:
        io.err(`Unknown command: ${command}\n\n${USAGE}\n`);
        return 1;
    }
  } catch (error) {
    io.err(`ncp-migrate ${command} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  // Exit explicitly: the wasm engine leaves a 10 s timer behind (its advisory-lock timeout),
  // which would otherwise keep the process alive after the work is done.
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
