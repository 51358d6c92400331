import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex';

describe('keyed mutex', () => {
  it('runs tasks of one key one at a time, in order, and other keys alongside', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    // a1 holds its key until the test lets it go: meanwhile b1 runs and a2 waits
    let releaseA1!: () => void;
    const a1Held = new Promise<void>((resolve) => (releaseA1 = resolve));
    const task = (key: string, name: string, work: () => Promise<void> = async () => undefined) =>
      mutex.run(key, async () => {
        log.push(`start ${name}`);
        await work();
        log.push(`end ${name}`);
        return name;
      });
    const a1 = task('a', 'a1', () => a1Held);
    const a2 = task('a', 'a2');
    expect(await task('b', 'b1')).toBe('b1');
    expect(log).toEqual(['start a1', 'start b1', 'end b1']);
    releaseA1();
    expect(await Promise.all([a1, a2])).toEqual(['a1', 'a2']);
    expect(log).toEqual(['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
  });

  it('keeps going after a task fails', async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await mutex.run('k', async () => 'next')).toBe('next');
  });
});
