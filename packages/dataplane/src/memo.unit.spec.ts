import { describe, expect, it } from 'vitest';
import { KeptFromLastBuild, perFrozenObject, perObject } from './memo';

describe('perObject', () => {
  it('makes a value once per object, and again for an equal but other object', () => {
    let made = 0;
    const json = perObject((o: object) => `${++made}:${JSON.stringify(o)}`);
    const a = Object.freeze({ x: 1 });
    expect(json(a)).toBe('1:{"x":1}');
    expect(json(a)).toBe('1:{"x":1}');
    expect(json({ x: 1 })).toBe('2:{"x":1}');
  });
});

describe('perFrozenObject', () => {
  it('makes a value once per frozen object, and on every call for one that can still change', () => {
    let made = 0;
    const json = perFrozenObject((o: { x: number }) => `${++made}:${o.x}`);
    const frozen = Object.freeze({ x: 1 });
    expect([json(frozen), json(frozen)]).toEqual(['1:1', '1:1']);
    const open = { x: 1 };
    expect(json(open)).toBe('2:1');
    open.x = 2;
    expect(json(open)).toBe('3:2');
  });
});

describe('KeptFromLastBuild', () => {
  it('keeps what the last build asked for, forgets the rest, and skips a build that asked for nothing', () => {
    let made = 0;
    const kept = new KeptFromLastBuild<string, number>();
    const get = (key: string) => kept.get(key, () => ++made);
    kept.begin();
    expect([get('a'), get('b')]).toEqual([1, 2]);
    kept.begin();
    expect(get('a')).toBe(1);
    // a build that asked for nothing: the one before it still counts
    kept.begin();
    kept.begin();
    expect(get('a')).toBe(1);
    // b was not asked for by the last build that asked for anything
    expect(get('b')).toBe(3);
  });
});
