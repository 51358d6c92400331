import { describe, expect, it } from 'vitest';
import { migrationDrift, testInfra } from '@ncp/testing';

describe('Prisma migrations', () => {
  it('match schema.prisma (CI fails on drift; fix with npm run migrate:create -w @ncp/l3 -- <name>)', async () => {
    expect(await migrationDrift('l3', (await testInfra()).databaseUrl)).toBe('');
  });
});
