import { describe, expect, it } from 'vitest';
import { isTransactionConflict } from './projection-failure';

/** As Prisma 7's Postgres adapter rejects a raw statement Postgres aborted (seen on a real deadlock). */
const prismaError = (originalCode: string) =>
  Object.assign(new Error('Raw query failed.'), {
    code: 'P2010',
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode, originalMessage: 'x', kind: 'TransactionWriteConflict' } } },
  });
const pgError = (code: string) => Object.assign(new Error('x'), { code });

describe('isTransactionConflict: a transaction worth trying again', () => {
  it('is a deadlock or a serialization failure, as Prisma or node-pg reports it', () => {
    expect(isTransactionConflict(prismaError('40P01'))).toBe(true);
    expect(isTransactionConflict(prismaError('40001'))).toBe(true);
    expect(isTransactionConflict(pgError('40P01'))).toBe(true);
    expect(isTransactionConflict(new Error('wrapped', { cause: pgError('40001') }))).toBe(true);
  });

  it('is nothing else: a broken constraint, a lock timeout, a connection lost, no error at all', () => {
    expect(isTransactionConflict(prismaError('23505'))).toBe(false);
    expect(isTransactionConflict(pgError('55P03'))).toBe(false);
    expect(isTransactionConflict(pgError('ECONNRESET'))).toBe(false);
    expect(isTransactionConflict(undefined)).toBe(false);
  });
});
