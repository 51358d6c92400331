import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMigrations } from '@ncp/prisma-migrate';
import { testInfra } from '@ncp/testing';

describe('Prisma migrations', () => {
  it('match schema.prisma (CI fails on drift; fix with npm run migrate:create -w @ncp/metadata -- <name>)', async () => {
    const infra = await testInfra();
    const url = new URL(infra.databaseUrl);
    url.searchParams.set('schema', 'metadata');
    const result = await checkMigrations({ schemaPath: path.join(__dirname, '..', 'prisma', 'schema.prisma'), url: url.toString() });
    expect(result.sql).toBe('');
    expect(result.inSync).toBe(true);
  });
});
