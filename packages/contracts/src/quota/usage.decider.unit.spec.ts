import { describe, expect, it } from 'vitest';
import { type CommandMetadata } from '../envelope';
import { isDomainError } from '../errors';
import { type UsageEvent } from './events';
import { usageCounts, usageDecider, type UsageCommand } from './usage.decider';

const decider = usageDecider('ipam');
const meta: CommandMetadata = { now: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: null, projectId: 'p', actor: 't', isAdmin: false };
const stateOf = (events: readonly UsageEvent[]) => events.reduce((s, e) => decider.evolve(s, structuredClone(e)), decider.initialState());
const when = (given: readonly UsageEvent[], command: UsageCommand, at = meta.now) => decider.decide(command, stateOf(given), { ...meta, now: at });
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (isDomainError(e)) return { code: e.code, kind: e.kind, message: e.message };
  }
  return undefined;
};

const reserved = (ids: string[], at = meta.now): UsageEvent => ({ type: 'UsageReserved', data: { kind: 'port', ids, at } });
const confirmed = (ids: string[]): UsageEvent => ({ type: 'UsageConfirmed', data: { kind: 'port', ids } });
const released = (ids: string[]): UsageEvent => ({ type: 'UsageReleased', data: { kind: 'port', ids } });

describe('usage decider', () => {
  it('reserves up to the limit and refuses past it with OverQuota, counting pending and confirmed alike', () => {
    const given = [confirmed(['a']), reserved(['b'])];
    expect(when(given, { type: 'Reserve', kind: 'port', ids: ['c'], limit: 3 })).toEqual([reserved(['c'])]);
    expect(refusal(() => when(given, { type: 'Reserve', kind: 'port', ids: ['c', 'd'], limit: 3 }))).toEqual({
      code: 'QUOTA.OverQuota',
      kind: 'conflict',
      message: "Quota exceeded for resources: ['port'].",
    });
    // a limit of 0 refuses the first one
    expect(refusal(() => when([], { type: 'Reserve', kind: 'port', ids: ['a'], limit: 0 }))?.code).toBe('QUOTA.OverQuota');
  });

  it('never refuses with a limit of -1', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `p${i}`);
    expect(when([confirmed(many)], { type: 'Reserve', kind: 'port', ids: ['x'], limit: -1 })).toEqual([reserved(['x'])]);
  });

  it('counts other kinds apart', () => {
    const given: UsageEvent[] = [{ type: 'UsageConfirmed', data: { kind: 'network', ids: ['n1', 'n2'] } }];
    expect(when(given, { type: 'Reserve', kind: 'port', ids: ['a'], limit: 1 })).toEqual([reserved(['a'])]);
  });

  it('does not count an id twice: a retried reservation, a duplicate in one request', () => {
    expect(when([reserved(['a'])], { type: 'Reserve', kind: 'port', ids: ['a'], limit: 1 })).toEqual([]);
    expect(when([confirmed(['a'])], { type: 'Reserve', kind: 'port', ids: ['a', 'b', 'b'], limit: 2 })).toEqual([reserved(['b'])]);
  });

  it('confirms reserved and unknown ids once, and releases known ids once', () => {
    expect(when([reserved(['a'])], { type: 'Confirm', kind: 'port', ids: ['a', 'z'] })).toEqual([confirmed(['a', 'z'])]);
    expect(when([reserved(['a']), confirmed(['a'])], { type: 'Confirm', kind: 'port', ids: ['a'] })).toEqual([]);
    expect(when([confirmed(['a'])], { type: 'Release', kind: 'port', ids: ['a', 'unknown'] })).toEqual([released(['a'])]);
    expect(when([confirmed(['a']), released(['a'])], { type: 'Release', kind: 'port', ids: ['a'] })).toEqual([]);
    // a failed create releases its reservation, not an id confirmed meanwhile
    expect(when([reserved(['a', 'b']), confirmed(['a'])], { type: 'Release', kind: 'port', ids: ['a', 'b'], pendingOnly: true })).toEqual([released(['b'])]);
    expect(usageCounts(stateOf([reserved(['a', 'b']), confirmed(['a', 'c'])]), 'port')).toEqual({ used: 2, reserved: 1 });
  });

  it('releases reservations pending longer than the age given, and only those; a late confirm counts again', () => {
    const given = [reserved(['old'], '2026-01-01T00:00:00.000Z'), reserved(['new'], '2026-01-01T00:04:00.000Z'), confirmed(['done'])];
    const sweep: UsageCommand = { type: 'ReleaseExpired', kind: 'port', now: '2026-01-01T00:05:00.000Z', maxAgeSeconds: 120 };
    expect(when(given, sweep)).toEqual([released(['old'])]);
    expect(when([...given, released(['old'])], sweep)).toEqual([]);
    expect(when([...given, released(['old'])], { type: 'Confirm', kind: 'port', ids: ['old'] })).toEqual([confirmed(['old'])]);
  });
});
