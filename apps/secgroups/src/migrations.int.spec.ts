import { describe, expect, it } from 'vitest';
import { migrationDrift, testInfra } from '@ncp/testing';

describe('Prisma migrations', () => {
  it('match schema.prisma (CI fails on drift; fix with npm run migrate:create -w @ncp/secgroups -- <name>)', async () => {
    expect(await migrationDrift('secgroups', (await testInfra()).databaseUrl)).toBe('');
  });
});
