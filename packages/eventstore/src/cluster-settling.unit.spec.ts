import { describe, expect, it } from 'vitest';
import { whileClusterSettles } from './cluster-settling';

const named = (name: string) => Object.assign(new Error(name), { name });

describe('while the cluster settles', () => {
  it('asks again after a timeout, and gives up on any other failure at once', async () => {
    let calls = 0;
    await expect(
      whileClusterSettles(async () => {
        calls += 1;
        if (calls === 1) throw named('TimeoutError');
        // a put to a bucket whose leader is being elected again
        if (calls === 2) throw named('JetStreamNotEnabled');
        return 'created';
      }),
    ).resolves.toBe('created');
    expect(calls).toBe(3);

    calls = 0;
    await expect(
      whileClusterSettles(async () => {
        calls += 1;
        throw named('PermissionViolationError');
      }),
    ).rejects.toThrow('PermissionViolationError');
    expect(calls).toBe(1);
  });

  it('gives up after its attempts', async () => {
    let calls = 0;
    await expect(
      whileClusterSettles(async () => {
        calls += 1;
        throw named('NoRespondersError');
      }, 2),
    ).rejects.toThrow('NoRespondersError');
    expect(calls).toBe(2);
  });
});
