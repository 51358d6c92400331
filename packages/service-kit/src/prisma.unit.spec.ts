import { describe, expect, it } from 'vitest';
import { prismaFactory } from './prisma';

describe('prismaFactory', () => {
  it("makes clients with the minimal error format (no call site captured per query) on the service's schema", () => {
    const made: unknown[] = [];
    class Client {
      constructor(options: unknown) {
        made.push(options);
      }
    }
    prismaFactory(Client, 'svc')('postgresql://postgres@127.0.0.1:5432/db');
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ errorFormat: 'minimal' });
  });
});
