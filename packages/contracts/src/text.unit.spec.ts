import { describe, expect, it } from 'vitest';
import { findUnstorable, isIdToken, unstorableText } from './text';

describe('storable text', () => {
  it.each([
    ['plain', 'web-1', null],
    ['empty', '', null],
    ['accents and CJK', 'réseau 网络', null],
    ['a paired surrogate (emoji)', 'ok \uD83D\uDE00', null],
    ['control characters other than NUL', 'a\u0001\t\n\u007f', null],
    ['a NUL', 'a\u0000b', 'it contains a NUL character'],
    ['a NUL alone', '\u0000', 'it contains a NUL character'],
    ['a lone high surrogate at the end', 'x\uD800', 'it contains an unpaired UTF-16 surrogate'],
    ['a lone high surrogate before text', '\uD800x', 'it contains an unpaired UTF-16 surrogate'],
    ['a lone low surrogate', '\uDC00', 'it contains an unpaired UTF-16 surrogate'],
    ['two high surrogates', '\uD83D\uD83D\uDE00', 'it contains an unpaired UTF-16 surrogate'],
    ['a reversed pair', '\uDE00\uD83D', 'it contains an unpaired UTF-16 surrogate'],
  ])('%s', (_what, s, problem) => {
    expect(unstorableText(s)).toBe(problem);
  });

  it('finds the first unstorable key or string anywhere in a value, with its path', () => {
    expect(findUnstorable({ name: 'ok', n: 1, b: true, z: null, list: ['a', { deep: 'b' }] })).toBeNull();
    expect(findUnstorable({ 'binding:profile': { a: [1, 'x\u0000'] } })).toEqual({ path: 'binding:profile.a.1', problem: 'it contains a NUL character' });
    expect(findUnstorable({ vendor_data: { '\uD800': 1 } })).toEqual({ path: 'vendor_data.\uD800', problem: 'its key contains an unpaired UTF-16 surrogate' });
    expect(findUnstorable('\u0000')).toEqual({ path: '', problem: 'it contains a NUL character' });
  });

  it.each([
    ['a UUID', '5f1c2a3b-0000-4000-8000-000000000001', true],
    ['letters, digits, _ and -', 'net_1-A', true],
    ['255 characters', 'a'.repeat(255), true],
    ['empty', '', false],
    ['256 characters', 'a'.repeat(256), false],
    ['a dot (a subject separator)', 'a.b', false],
    ['a wildcard', 'a*', false],
    ['a space', 'a b', false],
    ['a NUL', 'a\u0000', false],
    ['a non-ASCII letter', 'é', false],
  ])('an id token: %s', (_what, s, ok) => {
    expect(isIdToken(s)).toBe(ok);
  });
});
