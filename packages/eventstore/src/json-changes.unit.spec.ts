import { describe, expect, it } from 'vitest';
import { jsonChanges, toPlain } from './json-changes';

describe('json changes', () => {
  it('lists the leaves that differ, with their paths', () => {
    expect(
      jsonChanges(
        { name: 'a', ports: [{ id: 'p1', ip: '10.0.0.2' }], gone: 1 },
        { name: 'b', ports: [{ id: 'p1', ip: '10.0.0.2' }, { id: 'p2' }], added: true },
      ),
    ).toEqual([
      { path: 'added', before: null, after: true },
      { path: 'gone', before: 1, after: null },
      { path: 'name', before: 'a', after: 'b' },
      { path: 'ports.1', before: null, after: { id: 'p2' } },
    ]);
    expect(jsonChanges({ a: [1, 2] }, { a: [1, 2] })).toEqual([]);
    expect(jsonChanges(null, { a: 1 })).toEqual([{ path: '', before: null, after: { a: 1 } }]);
  });

  it('makes plain JSON of bigints, maps and sets', () => {
    expect(toPlain({ n: 10n, m: new Map([['k', new Set([1, 2])]]) })).toEqual({ n: '10', m: { k: [1, 2] } });
  });
});
