import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { acceptOne, parseOnce, rememberValid } from './intent-groups';

describe('acceptOne: the single valid entry of an id', () => {
  /** counts its runs: how often an entry was validated */
  const counted = () => {
    let runs = 0;
    const schema = z.object({ id: z.string(), mtu: z.number().int().min(68) }).refine(() => ++runs > 0);
    return { schema, runs: () => runs };
  };

  it('validates a frozen entry once (the agent hands every pass the same frozen objects)', () => {
    const { schema, runs } = counted();
    const entry = Object.freeze({ id: 'a', mtu: 1500 });
    expect(acceptOne(schema, [entry], 'network')).toEqual({ id: 'a', mtu: 1500 });
    expect(acceptOne(schema, [entry], 'network')).toEqual({ id: 'a', mtu: 1500 });
    expect(runs()).toBe(1);
    // an equal object is another entry
    acceptOne(schema, [Object.freeze({ id: 'a', mtu: 1500 })], 'network');
    expect(runs()).toBe(2);
  });

  it('validates an entry that can change on every call, and a frozen invalid one too', () => {
    const { schema, runs } = counted();
    const entry = { id: 'a', mtu: 1500 };
    acceptOne(schema, [entry], 'network');
    entry.mtu = 10;
    expect(acceptOne(schema, [entry], 'network')).toMatch(/^invalid network: mtu: /);
    const invalid = Object.freeze({ id: 'b', mtu: 10 });
    expect(acceptOne(schema, [invalid], 'network')).toMatch(/^invalid network/);
    expect(acceptOne(schema, [invalid], 'network')).toMatch(/^invalid network/);
    // each of the four calls validated its entry
    expect(runs()).toBe(4);
  });
});

describe('rememberValid: an entry its schema has just produced', () => {
  it('is not validated again by that schema, while another schema and an entry that can change still are', () => {
    let runs = 0;
    const schema = z.object({ id: z.string() }).refine(() => ++runs > 0);
    const other = z.object({ id: z.string().min(5) });
    const entry = Object.freeze({ id: 'a' });
    rememberValid(schema, entry);
    expect(parseOnce(schema, entry)).toEqual({ success: true, data: entry });
    expect(runs).toBe(0);
    expect(parseOnce(other, entry).success).toBe(false);
    const open = { id: 'a' };
    rememberValid(schema, open);
    expect(parseOnce(schema, open).success).toBe(true);
    expect(runs).toBe(1);
  });
});
