import { describe, expect, it } from 'vitest';
import { groupBy } from './collections';

describe('groupBy', () => {
  it('groups items by key, each group and the keys in the order they came', () => {
    const groups = groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (s) => s[0]);
    expect([...groups.entries()]).toEqual([
      ['b', ['b1', 'b2']],
      ['a', ['a1', 'a2']],
      ['c', ['c1']],
    ]);
  });

  it('gives no groups for no items', () => {
    expect(groupBy([], (s: string) => s).size).toBe(0);
  });
});
