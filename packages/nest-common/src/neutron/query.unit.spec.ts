import { describe, expect, it } from 'vitest';
import { ValidationError } from '@ncp/contracts';
import { afterMarker, effectiveSort, pageLinks, parseListQuery, selectFields, toBoolean, toInteger, type ResourceSpec } from './query';

const spec: ResourceSpec = {
  singular: 'network',
  collection: 'networks',
  attributes: {
    id: { type: 'string', column: 'id' },
    name: { type: 'string', column: 'name' },
    shared: { type: 'boolean', column: 'shared' },
    mtu: { type: 'integer', column: 'mtu' },
    local_as: { type: 'integer', column: 'localAs', range: { min: 1, max: 4294967295 } },
    created_at: { type: 'timestamp', column: 'createdAt' },
    subnets: { type: 'list' },
    project_id: { type: 'string', column: 'projectId' },
  },
  filterAliases: { tenant_id: 'project_id' },
};

describe('Neutron list queries', () => {
  it('converts filter values the way Neutron does and keeps repeated values', () => {
    const q = parseListQuery(spec, { name: ['a', 'b'], shared: 'True', mtu: '1450', tenant_id: 'p1' });
    expect(q.filters).toEqual([
      { attribute: 'name', column: 'name', values: ['a', 'b'] },
      { attribute: 'shared', column: 'shared', values: [true] },
      { attribute: 'mtu', column: 'mtu', values: [1450] },
      { attribute: 'project_id', column: 'projectId', values: ['p1'] },
    ]);
  });

  it('refuses filters on unknown or list attributes, and bad values', () => {
    expect(() => parseListQuery(spec, { colour: 'x' })).toThrow('[colour] is invalid attribute for filtering');
    expect(() => parseListQuery(spec, { subnets: 'x' })).toThrow(ValidationError);
    expect(() => parseListQuery(spec, { shared: 'maybe' })).toThrow(/cannot be converted to boolean/);
    expect(() => parseListQuery(spec, { mtu: '12x' })).toThrow(/is not an integer/);
  });

  it.each([
    ['a revision_number of 20 digits', { revision_number: '12345678901234567890' }, /too large/],
    ['an mtu beyond an Int column', { mtu: '99999999999' }, /'99999999999' is too large - must be no larger than '2147483647'/],
    ['an mtu below an Int column', { mtu: '-99999999999' }, /too small/],
    ['a local_as beyond its range', { local_as: '4294967296' }, /too large - must be no larger than '4294967295'/],
    ['created_at=foo', { created_at: 'foo' }, /'foo' is not a valid timestamp/],
    ['created_at with a day that does not exist', { created_at: '2026-13-45T00:00:00Z' }, /not a valid timestamp/],
    ['a NUL in a text filter', { name: 'a\u0000b' }, /Invalid input for name. Reason: it contains a NUL character/],
    ['a lone surrogate in a text filter', { name: ['ok', '\uD800'] }, /unpaired UTF-16 surrogate/],
    ['a NUL in the marker', { marker: 'a\u0000' }, 'Marker a\u0000 could not be found'],
    ['a marker outside the id alphabet', { marker: 'a.b' }, /Marker a.b could not be found/],
    ['a negative limit', { limit: '-1' }, /0 or greater/],
    ['a limit that is not a number', { limit: 'ten' }, /is not an integer/],
  ])('refuses %s with a 400', (_what, raw, message) => {
    const spec2: ResourceSpec = { ...spec, attributes: { ...spec.attributes, revision_number: { type: 'integer', column: 'revisionNumber' } } };
    expect(() => parseListQuery(spec2, raw)).toThrow(ValidationError);
    expect(() => parseListQuery(spec2, raw)).toThrow(message);
  });

  it('converts timestamps and wide integers by their attribute type', () => {
    const q = parseListQuery(spec, { created_at: '2026-01-01T00:00:00Z', local_as: '4200000000' });
    expect(q.filters).toEqual([
      { attribute: 'created_at', column: 'createdAt', values: [new Date('2026-01-01T00:00:00Z')] },
      { attribute: 'local_as', column: 'localAs', values: [4200000000] },
    ]);
  });

  it('takes a limit of any size as "all that fits a page" (limit=2^63)', () => {
    expect(parseListQuery(spec, { limit: '9223372036854775808' }).limit).toBe(2147483647);
    expect(parseListQuery(spec, { limit: '9223372036854775808' }, { maxLimit: 100 }).limit).toBe(100);
  });

  it('parses fields, sorting and paging parameters', () => {
    const q = parseListQuery(spec, {
      fields: ['id', 'name', 'nope'],
      sort_key: ['name', 'mtu'],
      sort_dir: ['desc', 'asc'],
      limit: '2',
      marker: 'm',
      page_reverse: 'true',
    });
    expect(q.fields).toEqual(['id', 'name']);
    expect(q.sort.map((s) => [s.column, s.direction])).toEqual([
      ['name', 'desc'],
      ['mtu', 'asc'],
    ]);
    expect([q.limit, q.marker, q.pageReverse]).toEqual([2, 'm', true]);
    expect(parseListQuery(spec, { limit: '0' }).limit).toBeNull();
    expect(parseListQuery(spec, {}, { maxLimit: 100 }).limit).toBe(100);
    expect(() => parseListQuery(spec, { sort_key: ['name', 'id'], sort_dir: 'asc' })).toThrow(/must be same/);
    expect(() => parseListQuery(spec, { sort_key: 'subnets' })).toThrow(/not supported for sorting/);
    expect(() => parseListQuery(spec, { limit: '-1' })).toThrow(/0 or greater/);
  });

  it('orders totally by adding id and reverses for page_reverse', () => {
    const q = parseListQuery(spec, { sort_key: 'name', sort_dir: 'desc', page_reverse: 'True' });
    expect(effectiveSort(q, []).map((k) => [k.column, k.direction])).toEqual([
      ['name', 'asc'],
      ['id', 'asc'],
    ]);
  });

  it('builds the keyset condition for rows after a marker', () => {
    const sort = effectiveSort(parseListQuery(spec, { sort_key: 'name' }), []);
    expect(afterMarker(sort, { name: 'b', id: '7' })).toEqual({
      OR: [{ AND: [{ name: { gt: 'b' } }] }, { AND: [{ name: 'b' }, { id: { gt: '7' } }] }],
    });
  });

  it('builds it for booleans and NULLs too, which have no gt/lt (a 500 once)', () => {
    const bySharedAsc = effectiveSort(parseListQuery(spec, { sort_key: 'shared' }), []);
    expect(afterMarker(bySharedAsc, { shared: false, id: '7' })).toEqual({
      OR: [{ AND: [{ shared: true }] }, { AND: [{ shared: false }, { id: { gt: '7' } }] }],
    });
    expect(afterMarker(bySharedAsc, { shared: true, id: '7' })).toEqual({ OR: [{ AND: [{ shared: true }, { id: { gt: '7' } }] }] });
    const bySharedDesc = effectiveSort(parseListQuery(spec, { sort_key: 'shared', sort_dir: 'desc' }), []);
    expect(afterMarker(bySharedDesc, { shared: true, id: '7' })).toEqual({
      OR: [{ AND: [{ shared: false }] }, { AND: [{ shared: true }, { id: { lt: '7' } }] }],
    });
    const byNameDesc = effectiveSort(parseListQuery(spec, { sort_key: 'name', sort_dir: 'desc' }), []);
    expect(afterMarker(byNameDesc, { name: null, id: '7' })).toEqual({
      OR: [{ AND: [{ name: { not: null } }] }, { AND: [{ name: null }, { id: { lt: '7' } }] }],
    });
    const byNameAsc = effectiveSort(parseListQuery(spec, { sort_key: 'name' }), []);
    expect(afterMarker(byNameAsc, { name: null, id: '7' })).toEqual({ OR: [{ AND: [{ name: null }, { id: { gt: '7' } }] }] });
  });

  it('links the next page only when the page is full, and the previous one after a marker', () => {
    const items = [{ id: 'a' }, { id: 'b' }];
    const base = { baseUrl: 'http://h/v2.0', collection: 'networks', query: { limit: '2', name: 'x' }, limit: 2, items, pageReverse: false };
    expect(pageLinks({ ...base, hadMarker: false })).toEqual([{ href: 'http://h/v2.0/networks?limit=2&name=x&marker=b', rel: 'next' }]);
    expect(pageLinks({ ...base, items: [{ id: 'a' }], hadMarker: true }).map((l) => l.rel)).toEqual(['previous']);
    expect(pageLinks({ ...base, limit: null, hadMarker: false })).toEqual([]);
  });

  it('selects fields and converts scalars', () => {
    expect(selectFields({ id: '1', name: 'n', mtu: 1 }, ['name'])).toEqual({ name: 'n' });
    expect([toBoolean('x', '0'), toBoolean('x', 'TRUE'), toInteger('x', ' 42 ')]).toEqual([false, true, 42]);
  });
});
