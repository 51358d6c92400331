import { describe, expect, it } from 'vitest';
import { migrationDirName } from './migrations-dir';
import { parseDatabaseUrl, withDatabase } from './url';

describe('parseDatabaseUrl', () => {
  it('takes the Postgres schema from ?schema= and removes it from the connection string', () => {
    const url = parseDatabaseUrl('postgresql://u:p%40ss@db:5432/ncp?schema=ipam&sslmode=disable');
    expect(url).toEqual({
      connectionString: 'postgresql://u:p%40ss@db:5432/ncp?sslmode=disable',
      database: 'ncp',
      schema: 'ipam',
    });
    expect(withDatabase(url, 'pm_shadow_1').connectionString).toBe('postgresql://u:p%40ss@db:5432/pm_shadow_1?sslmode=disable');
  });

  it('defaults to the public schema and keeps libpq options apart', () => {
    expect(parseDatabaseUrl('postgres://db/ncp?options=-c%20statement_timeout%3D5s')).toEqual({
      connectionString: 'postgres://db/ncp',
      database: 'ncp',
      schema: 'public',
      options: '-c statement_timeout=5s',
    });
  });

  it('rejects other databases and URLs without a database', () => {
    expect(() => parseDatabaseUrl('mysql://db/ncp')).toThrow(/postgresql/);
    expect(() => parseDatabaseUrl('postgresql://db:5432')).toThrow(/name a database/);
  });
});

describe('migrationDirName', () => {
  const now = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));

  it('is a UTC timestamp and a snake_case name, as Prisma names them', () => {
    expect(migrationDirName('Add subnets & pools!', [], now)).toBe('20250102030405_add_subnets_pools');
  });

  it('always sorts after the existing migrations', () => {
    expect(migrationDirName('next', ['20250102030405_init'], now)).toBe('20250102030406_next');
    expect(migrationDirName('next', ['20991231235959_future'], now)).toBe('21000101000000_next');
  });
});
